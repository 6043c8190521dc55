"""summary()'s training pass writes back only the buffers it changed: a constant table
holding NaN (a mask of "no value" cells) compared unequal to its own copy, so it was
written to, and one that refuses a write (an expanded view, an inference tensor) made
summary() raise. A meta model's buffers have no values to compare."""

import torch
from torch import nn

from cnnlab import summary
from cnnlab.inspect._measure import training_memory


class NanTables(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        row = torch.tensor([float("nan"), 1.0])
        self.register_buffer("mask", row.expand(4, 2), persistent=False)
        with torch.inference_mode():
            table = torch.tensor([float("nan"), 2.0])
        self.register_buffer("table", table, persistent=False)

    def forward(self, x):
        return self.bn(self.conv(x))


def test_summary_leaves_nan_holding_read_only_buffers_alone():
    net = NanTables()
    mask, table, mean = net.mask, net.table, net.bn.running_mean.clone()
    summary(net, (1, 8, 8), batch_size=2)
    assert net.mask is mask and net.table is table
    assert torch.equal(net.bn.running_mean, mean)  # a changed buffer is still put back


def test_training_memory_of_a_meta_model():
    with torch.device("meta"):
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
        x = torch.zeros(2, 1, 8, 8)
    assert training_memory(net, x)[1] == "train"  # raised NotImplementedError
