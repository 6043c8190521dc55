"""adaptive_avg_pool2d (cnnlab/ops/adaptive_pool.py) on what its other tests left open.

Each test here kills a hand-made mutant of adaptive_pool.py that the rest of the suite
let through (session 34's mutation test): ``None`` for the width (only the height's was
tested, on a square image), ``None`` alone, an image with no columns, a size of 0,
and half precision summed tap by tap (only a wide bin's one reduction was tested).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from op_helpers import assert_same_op, rand

from cnnlab.ops import adaptive_avg_pool2d


@pytest.mark.parametrize("output_size", [(3, None), (None, 4), (None, None)])
def test_none_keeps_that_axis_of_a_non_square_image_as_f_does(output_size):
    x = rand(2, 3, 5, 7)  # h != w: a None that kept the other axis's size is caught
    assert_same_op(lambda t: adaptive_avg_pool2d(t, output_size),
                   lambda t: F.adaptive_avg_pool2d(t, output_size), x)


def test_none_alone_keeps_both_axes():
    # The refusal's own words offer "an int, None or an (h, w) pair"; F takes (None, None).
    x = rand(1, 2, 5, 3)
    torch.testing.assert_close(adaptive_avg_pool2d(x, None), x)


@pytest.mark.parametrize("shape", [(2, 3, 0, 4), (2, 3, 4, 0)])
def test_an_image_without_rows_or_columns_is_refused_by_name(shape):
    # Only the missing rows were tested; no columns reached the bin sums and failed
    # there ("unsupported operand type(s) for /: 'NoneType'").
    with pytest.raises(ValueError, match="has no pixels to average"):
        adaptive_avg_pool2d(torch.ones(shape), 2)


def test_an_output_size_of_zero_is_refused_by_name():
    # It failed inside the bin widths ("max() arg is an empty sequence").
    with pytest.raises(ValueError, match="output size must be >= 1, got 0"):
        adaptive_avg_pool2d(torch.ones(1, 1, 4, 4), (2, 0))


@pytest.mark.parametrize("output_size", [(4, 3), (5, 6)])
def test_bfloat16_bins_summed_tap_by_tap_are_as_accurate_as_f(output_size):
    # 16 -> 4 (strided taps), 13 -> 3 and 16 -> 5, 13 -> 6 (gathered, uneven taps): each
    # tap added in bfloat16 (8 significant bits) rounded the running sum again, where
    # PyTorch accumulates in float32 and rounds once.
    x = (rand(2, 3, 16, 13) * 3 + 100).bfloat16()  # spread over several bfloat16 steps
    exact = F.adaptive_avg_pool2d(x.double(), output_size)
    ours, theirs = adaptive_avg_pool2d(x, output_size), F.adaptive_avg_pool2d(x, output_size)
    assert ours.dtype == torch.bfloat16
    assert (ours.double() - exact).abs().max() <= (theirs.double() - exact).abs().max()
