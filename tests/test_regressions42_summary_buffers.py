"""summary() of a model holding a buffer that isclose cannot compare: a quantized table
(session 41's restore compared each buffer with isclose, raised for it, and left the
BatchNorm statistics its training pass had changed) or a sparse one (whose missing
storage summary() had read)."""

import warnings

import pytest
import torch
from torch import nn

from cnnlab import summary


class WithTable(nn.Module):
    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.register_buffer("table", table, persistent=False)
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x)).mean((2, 3))


def _quantized() -> torch.Tensor:
    with warnings.catch_warnings():  # quantized tensors are deprecated in newer torch
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.quint8)


@pytest.mark.parametrize("table", [_quantized, lambda: torch.eye(4).to_sparse()],
                         ids=["quantized", "sparse"])
def test_summary_of_a_model_with_an_uncomparable_buffer(table):
    net = WithTable(table())
    kept, mean = net.table, net.bn.running_mean.clone()
    s = summary(net, (1, 8, 8), batch_size=2)
    assert s.totals.training_pass_mode == "train" and s.totals.training_activation_bytes > 0
    assert torch.equal(net.bn.running_mean, mean)  # the pass's statistics put back
    assert net.table is kept
