"""report.html's layer table gives a module run on different shapes (torchvision's
bottleneck ReLU, the book's Inception ReLU) each dim's values and its calls, as `cnnlab
summary` does since inspect42: it showed the first call's shape alone (64x56x56 for
resnet50's layer1.0.relu, whose calls output 64, 64 and 256 channels)."""

from test_inspect42_call_shapes import SharedRelu
from torch import nn

from cnnlab.inspect import summary
from cnnlab.train.report import _model_section


def _cells(model, size) -> str:
    return "".join(_model_section(summary(model, size).to_dict()))


def test_calls_of_different_shapes_are_each_dims_values():
    page = _cells(SharedRelu(), (1, 5, 5))
    assert "4|8x5x5" in page and "ReLU (2 calls)" in page
    assert "<td>4x5x5</td>" in page  # the narrow conv's own row, as before


def test_calls_of_different_ranks_are_each_written():
    class TwoRanks(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act, self.fc = nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(8, 3)

        def forward(self, x):
            return self.act(self.fc(self.act(self.conv(x)).flatten(1)))

    assert "2x2x2 / 3" in _cells(TwoRanks(), (1, 4, 4))
