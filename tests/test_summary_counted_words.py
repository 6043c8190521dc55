"""A summary's totals say what its MACs and forward activations count, in the lines a
slide carries (--markdown, --latex), and the numbers are that."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.inspect import summary


class Branches(nn.Module):
    """Two convs whose outputs a functional ReLU and torch.cat join, as the book's
    Inception block does: no module returns the joined tensor."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 2, 1), nn.Conv2d(1, 2, 1)
        self.bn, self.pool = nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.bn(torch.cat([F.relu(self.a(x)), F.relu(self.b(x))], 1)))


def test_the_totals_say_what_is_counted_and_it_is():
    s = summary(Branches(), (1, 4, 4))
    lines = dict(s.totals_lines())
    # MACs: the two 1x1 convs alone (2 output channels x 16 pixels each); BatchNorm and
    # the pooling, which fvcore counts too, are not, and the line says so.
    assert s.totals.macs == 2 * (2 * 16)
    assert lines["MACs"] == ("64 (64) at batch 1: conv and matmul only (BatchNorm, "
                             "pooling, activations, adds not counted)")
    # Forward activations: the modules' outputs (2 convs, BatchNorm, pool), not the
    # F.relu and torch.cat outputs; it had said "sum of layer outputs", which a reader
    # takes to include the ReLU layers.
    assert s.totals.forward_activation_bytes == 4 * (2 * 16 + 2 * 16 + 4 * 16 + 4)
    assert "functional ops in a forward, such as F.relu or torch.cat, not counted" \
        in lines["Forward activations"]
