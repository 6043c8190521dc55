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
