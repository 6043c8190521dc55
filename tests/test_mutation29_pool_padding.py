"""pool2d's padding limit, checked against PyTorch's for odd and even kernels.

Written against a mutant of cnnlab/ops/pool.py (session 39) that let a padding of 2
through a 3-wide kernel: the suite refused padding only for an even kernel, where
``k // 2`` and ``(k + 1) // 2`` agree. Such a padding gives max-pooling windows of
nothing but padding (-inf outputs); PyTorch refuses it.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops.pool import pool2d


def _refused(call) -> bool:
    try:
        call()
    except (RuntimeError, ValueError):
        return True
    return False


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_a_padding_is_refused_exactly_where_torch_refuses_it(mode, kernel):
    x = torch.randn(1, 1, 9, 9)
    theirs = F.max_pool2d if mode == "max" else F.avg_pool2d
    for padding in range(4):
        for pad in (padding, (0, padding), (padding, 0)):
            ours_refused = _refused(lambda p=pad: pool2d(x, kernel, padding=p, mode=mode))
            torch_refused = _refused(lambda p=pad: theirs(x, kernel, padding=p))
            assert ours_refused == torch_refused, (kernel, pad)
