"""summary()'s training pass puts back every buffer (non-persistent ones too) without
writing to one it left alone: a constant table kept as a non-persistent buffer that
refuses a write (an expanded view, an inference tensor) made summary() raise, and one
the pass rebound (a history that grows by a row a step) kept the pass's row."""

import torch
from torch import nn

from cnnlab import summary


class Tables(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.register_buffer("ramp", torch.linspace(0, 1, 8).expand(8, 8), persistent=False)
        with torch.inference_mode():  # as a model built under inference_mode has it
            scale = torch.full((1,), 2.0)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("seen", torch.zeros(()), persistent=False)
        self.register_buffer("history", torch.zeros(1, 4), persistent=False)

    def forward(self, x):
        y = self.bn(self.conv(x)) + self.scale + self.ramp  # (sums save none)
        if self.training:
            self.seen += 1
            self.history = torch.cat([self.history, y.detach().mean((0, 2, 3))[None]])
        return y


def test_summary_leaves_read_only_buffers_as_they_were():
    net = Tables()
    ramp, scale, history = net.ramp, net.scale, net.history
    mean = net.bn.running_mean.clone()
    s = summary(net, (1, 8, 8), batch_size=2)
    assert s.totals.training_pass_mode == "train"
    assert net.ramp is ramp and net.scale is scale and net.seen.item() == 0
    assert net.history is history and net.history.shape == (1, 4)
    assert torch.equal(net.bn.running_mean, mean)  # BatchNorm's stats, updated, put back
