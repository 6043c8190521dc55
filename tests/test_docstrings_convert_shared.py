"""convert_to_scratch's docstring: "A module that appears twice gets one replacement,
still shared." One registered under two names of the same parent was replaced under the
first name only (``named_children`` skips a repeat), so the second stayed PyTorch's: a
warning in a plain call, a TypeError with ``strict=True``, for a model it can convert."""

import warnings

import torch
from torch import nn

from cnnlab.ops import Conv2d, convert_to_scratch, unconverted_modules


class _TiedConvs(nn.Module):
    """One convolution reached under two names (weights tied on purpose)."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 1, 3, padding=1)
        self.second = self.first

    def forward(self, x):
        return self.second(self.first(x))


def test_a_module_registered_twice_in_one_parent_gets_one_shared_replacement():
    shared = nn.Conv2d(1, 1, 3, padding=1)
    sequence = nn.Sequential(shared, nn.ReLU(), shared)
    tied = _TiedConvs()
    x = torch.randn(1, 1, 6, 6)
    expected = tied(x), sequence(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left to PyTorch: no warning
        convert_to_scratch(sequence, strict=True)
        convert_to_scratch(tied, strict=True)
    assert isinstance(sequence[0], Conv2d) and sequence[2] is sequence[0]
    assert isinstance(tied.first, Conv2d) and tied.second is tied.first
    assert sequence[0].weight is shared.weight  # the same parameters, not copies
    assert not unconverted_modules(sequence) and not unconverted_modules(tied)
    torch.testing.assert_close((tied(x), sequence(x)), expected)
