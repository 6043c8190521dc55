"""pool2d's geometries and refusals that the random cases missed.

Written against mutants of cnnlab/ops/pool.py that the rest of the suite let through
(session 34's mutation test).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops.pool import pool2d, pool_output_size


def test_a_ceil_mode_window_longer_than_the_input_by_one_is_refused_as_torch_refuses_it():
    # Rounding up gives 0 windows here; it must be an error naming the sizes, not an
    # empty output (F.max_pool2d refuses it too).
    with pytest.raises(RuntimeError):
        F.max_pool2d(torch.zeros(1, 1, 2, 2), 3, stride=1, ceil_mode=True)
    with pytest.raises(ValueError, match="spans 3 but the padded input is only 2 wide"):
        pool_output_size(2, 3, s=1, ceil_mode=True)
    with pytest.raises(ValueError, match="no window starts inside it"):
        pool2d(torch.zeros(1, 1, 2, 2), 3, stride=1, ceil_mode=True)


def test_a_zero_dilation_is_refused_by_pool2d_by_name():
    # It had failed later, in pool_output_size, under the short name d.
    with pytest.raises(ValueError, match=r"pool2d needs kernel, stride, dilation >= 1 .*"
                                         r"dilation=\(1, 0\)"):
        pool2d(torch.zeros(1, 1, 4, 4), 2, dilation=(1, 0))


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=1, padding=1), dict(ceil_mode=True)])
def test_a_nan_after_the_first_tap_wins_its_window_as_in_torch(kwargs):
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    x[0, 0, 1, 1] = x[0, 0, 3, 4] = float("nan")  # the last tap of a 2x2 window, and more
    torch.testing.assert_close(pool2d(x, 2, **kwargs), F.max_pool2d(x, 2, **kwargs),
                               equal_nan=True)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_max_pooling_of_negative_integers_never_picks_the_padding(dtype):
    # The padding must be the type's least value: padded with 0, every window on the
    # border of an all-negative image came out 0.
    x = -torch.arange(1, 17, dtype=dtype).reshape(1, 1, 4, 4)
    assert torch.equal(pool2d(x, 3, stride=2, padding=1),
                       F.max_pool2d(x, 3, stride=2, padding=1))


def test_average_pooling_counts_each_axis_own_padding_under_ceil_mode():
    # Different padding per axis and a window hanging over the bottom: the divisor's mask
    # of padded pixels takes each axis's own padding.
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    kw = dict(stride=2, padding=(0, 1), ceil_mode=True)
    torch.testing.assert_close(pool2d(x, (2, 3), mode="avg", **kw),
                               F.avg_pool2d(x, (2, 3), **kw))


def test_max_pooling_second_derivative_with_unequal_strides_and_kernel():
    # The create_graph backward scatters rows and columns separately; the second-
    # derivative tests used square strides and kernels only, so a row stride or a
    # kernel width in the column's place passed them.
    x = torch.randn(1, 2, 7, 9, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3)).requires_grad_()
    g = torch.randn(F.max_pool2d(x, (2, 3), (1, 2)).shape, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(4))
    ours = torch.autograd.grad(pool2d(x, (2, 3), (1, 2)), x, g, create_graph=True)[0]
    theirs = torch.autograd.grad(F.max_pool2d(x, (2, 3), (1, 2)), x, g, create_graph=True)[0]
    torch.testing.assert_close(ours, theirs)
    torch.autograd.gradgradcheck(lambda t: pool2d(t, (2, 3), (1, 2)), (x,))
