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
