"""The loop reference of two-dimensional cross-correlation, as the book writes it.

:func:`corr2d` is the definition, one output position at a time; :func:`corr2d_multi_in`
sums it over input channels and :func:`corr2d_multi_in_out` stacks that over output
channels. Slow on purpose: they are what :func:`cnnlab.ops.conv2d` is tested against,
and what a lesson shows first. Each takes tensors, NumPy arrays or nested lists, as the
book's readers hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# What each takes (torch.as_tensor reads it): hinted as a tensor alone, an IDE flagged
# the book's lists and a reader's NumPy arrays, which the docstrings invite.
ArrayLike = torch.Tensor | np.ndarray | Sequence[Any]


def corr2d(X: ArrayLike, K: ArrayLike) -> torch.Tensor:
    """Two-dimensional cross-correlation of one (h, w) array with one kernel, by loops.

    ``Y[i, j] = sum(X[i:i + kh, j:j + kw] * K)`` with no padding and stride 1, the
    definition the book starts from. Differentiable (autograd records each sum). NumPy
    arrays and nested lists are taken as the tensors they hold.
    """
    # A book reader's numpy array or list failed with "no attribute 'dim'".
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(f"corr2d takes 2-D X and K, got shapes {tuple(X.shape)}, {tuple(K.shape)}")
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1] or not X.numel():  # no padding to speak of here
        raise ValueError(f"corr2d: the kernel is {h}x{w}, X only {X.shape[0]}x{X.shape[1]}: "
                         "no position where the kernel fits")
    # In the dtype X * K has: integer pixels and a float kernel give floats (and a
    # gradient), not sums truncated to integers. The size is the chapter's
    # n - k + 1 (conv_output_size with no padding and stride 1).
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1),
                    dtype=torch.result_type(X, K), device=X.device)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d_multi_in(X: ArrayLike, K: ArrayLike) -> torch.Tensor:
    """(C, h, w) input ``X``, (C, kh, kw) kernel ``K``: correlate each channel, sum them.
    NumPy arrays and nested lists are taken as the tensors they hold, as by :func:`corr2d`."""
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    if X.dim() != 3 or K.dim() != 3 or len(X) != len(K):
        raise ValueError(f"corr2d_multi_in takes a (C, h, w) X and a (C, kh, kw) K with the "
                         f"same C, got shapes {tuple(X.shape)}, {tuple(K.shape)}"
                         + ("; for one channel, use corr2d" if X.dim() == K.dim() == 2 else ""))
    return sum(corr2d(x, k) for x, k in zip(X, K, strict=True))


def corr2d_multi_in_out(X: ArrayLike, K: ArrayLike) -> torch.Tensor:
    """(C_in, h, w) ``X``, (C_out, C_in, kh, kw) ``K``: one multi-input result per output,
    stacked into (C_out, h - kh + 1, w - kw + 1). NumPy arrays and nested lists are taken
    as the tensors they hold."""
    X, K = torch.as_tensor(X), torch.as_tensor(K)
    if X.dim() != 3 or K.dim() != 4 or X.shape[0] != K.shape[1]:
        # Checked here: a (C, kh, kw) K was read one 2-D slice at a time, and the error
        # spoke of corr2d_multi_in and shapes the caller never passed.
        hint = ("; a (C, kh, kw) K is one output channel's: corr2d_multi_in(X, K), or "
                "K[None] for a stack of one" if K.dim() == 3 else "")
        raise ValueError(f"corr2d_multi_in_out takes a (C_in, h, w) X and a (C_out, C_in, "
                         f"kh, kw) K with the same C_in, got shapes {tuple(X.shape)}, "
                         f"{tuple(K.shape)}{hint}")
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)
