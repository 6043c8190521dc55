"""A module run several times on different shapes (torchvision's one ReLU per bottleneck,
the book's Inception ReLU shared by its four branches) shows every shape it output in the
Output shape column (each dim's values), not its first call's alone beside the bytes of all
of them."""

import torch
from torch import nn

from cnnlab.inspect import summary


class SharedRelu(nn.Module):
    """A bottleneck-like block: one ReLU after a 4-channel and an 8-channel conv."""

    def __init__(self):
        super().__init__()
        self.narrow = nn.Conv2d(1, 4, 1)
        self.wide = nn.Conv2d(4, 8, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.wide(self.relu(self.narrow(x))))


def _relu_row(s):
    return next(r for r in s.rows if r.name == "relu")


def test_each_calls_shape_is_shown_where_calls_differ():
    s = summary(SharedRelu(), (1, 5, 5))
    row = _relu_row(s)
    assert row.calls == 2 and row.call_shapes == [(1, 4, 5, 5), (1, 8, 5, 5)]
    assert row.output_shapes == [(1, 4, 5, 5)]  # the first call's, as before
    cells = dict(zip(s.table_cells()[0], next(c for _, c in s.table_cells()[1]
                                             if c[0] == "relu"), strict=True))
    assert cells["Output shape"] == "[1, 4|8, 5, 5]"
    assert "[1, 4|8, 5, 5]" in str(s) and r"[1, 4\|8, 5, 5]" in s.to_markdown()
    rows = {r["name"]: r for r in s.to_dict()["rows"]}
    assert rows["relu"]["call_shapes"] == [[1, 4, 5, 5], [1, 8, 5, 5]]


def test_calls_of_one_shape_read_as_before():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU())
    net.add_module("again", net[1])  # the same ReLU module, run twice on one shape
    s = summary(net, (1, 3, 3))
    row = next(r for r in s.rows if r.calls == 2)
    assert row.call_shapes == [(1, 2, 3, 3)] * 2
    assert "[1, 2, 3, 3]" in next(c for _, c in s.table_cells()[1] if "2 calls" in c[1])


def test_shapes_differing_in_several_dims_stay_one_narrow_shape():
    pool = nn.MaxPool2d(2)
    net = nn.Sequential(nn.Conv2d(1, 2, 1), pool, nn.Conv2d(2, 3, 1), pool)
    s = summary(net, (1, 8, 8))
    row = next(r for r in s.rows if r.calls == 2)
    shown = next(c for _, c in s.table_cells()[1] if "2 calls" in c[1])[2]
    assert shown == "[1, 2|3, 4|2, 4|2]"  # each dim's values in call order
    assert row.call_shapes == [(1, 2, 4, 4), (1, 3, 2, 2)]
    assert torch.Size(row.output_shape) == (1, 2, 4, 4)
