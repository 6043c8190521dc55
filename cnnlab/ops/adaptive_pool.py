"""Adaptive average pooling from scratch: :func:`adaptive_avg_pool2d`, PyTorch's
adaptive bins (which may overlap and differ in length), values and gradients as
``F.adaptive_avg_pool2d``'s."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from cnnlab.ops.conv import autocast_on, in_layout_of, is_whole
from cnnlab.ops.fast_pool import traced


def adaptive_avg_pool2d(x: torch.Tensor,
                        output_size: int | tuple[int | None, int | None]) -> torch.Tensor:
    """Average ``x`` over PyTorch's adaptive bins to ``output_size`` (S or (H, W)), like
    ``F.adaptive_avg_pool2d``.

    Output cell i along an axis of length n averages input positions
    ``floor(i * n / out)`` up to ``ceil((i + 1) * n / out)``; the bins may overlap
    and differ in size when ``out`` does not divide ``n``. Averaging over such bins
    is separable: the mean over each row bin, then over each column bin. Bins are
    summed tap by tap (tap t holds each bin's t-th position: a strided slice where
    ``out`` divides ``n``, otherwise an index_select of one position per bin, a zero
    past the end of the shorter bins); very wide ones by one reduction. Uneven bins'
    backward is the same bin sum from the output back to the input. To 1x1 (global
    pooling) it is one mean over H and W, PyTorch's own path. ``None`` keeps that axis's
    size.

    An inf or NaN stays in the cells whose bins hold it, as in PyTorch's. (Through
    an averaging matrix product, as this was done before, ``0 * inf`` is NaN: a NaN
    reached every cell of its bins' row and column.) Floating-point input only, as
    F.adaptive_avg_pool2d's: the mean of integers is not an integer.
    """
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"adaptive_avg_pool2d input must be (N, C, H, W) or (C, H, W), "
                         f"got {tuple(x.shape)}")
    if is_whole(output_size) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, tuple | list) or len(output_size) != 2 or not all(
            s is None or is_whole(s) for s in output_size):
        raise ValueError(f"adaptive_avg_pool2d output_size is an int, None or an (h, w) pair "
                         f"of them, got {output_size!r}")
    if not x.is_floating_point():  # int64 reached a matmul: "expected scalar type Float"
        raise TypeError(f"adaptive_avg_pool2d of a {x.dtype} tensor: give a floating-point "
                        f"one (x.float()); F.adaptive_avg_pool2d takes no integers or bools "
                        f"either")
    h, w = x.shape[2:]
    if not h or not w:  # every bin would be empty: no mean to take
        raise ValueError(f"adaptive_avg_pool2d input {tuple(x.shape)} has no pixels to "
                         f"average (H and W must be >= 1, as F.adaptive_avg_pool2d requires)")
    out_h = h if output_size[0] is None else int(output_size[0])
    out_w = w if output_size[1] is None else int(output_size[1])
    # In float32 for half precision (PyTorch accumulates so), and in x's dtype under
    # autocast, which might otherwise run a reduction in another dtype than pooling's.
    low = x.dtype in (torch.float16, torch.bfloat16)
    xf = x.float() if low else x
    full = torch.autocast(x.device.type, enabled=False) if autocast_on(x) else nullcontext()
    with full:
        if out_h == out_w == 1:  # global pooling, every ResNet's and RegNet's head
            # One mean over both axes: the bins one after the other took two reductions
            # and two divisions, 7 times F.adaptive_avg_pool2d's time (64x512x7x7), where
            # this is as fast and gives its very values (it is PyTorch's own path).
            y = xf.mean((2, 3), keepdim=True)
        else:
            y = _bin_means(_bin_means(xf, 2, out_h), 3, out_w)
    y = in_layout_of(y.to(x.dtype) if low else y, x)
    return y.squeeze(0) if unbatched else y


def _bin_means(x: torch.Tensor, dim: int, out: int) -> torch.Tensor:
    """The mean of each of ``out`` adaptive bins along ``dim``, which becomes ``out`` long."""
    if out < 1:
        raise ValueError(f"adaptive pooling output size must be >= 1, got {out}")
    n = x.shape[dim]
    if (n % out and x.requires_grad and torch.is_grad_enabled() and not traced()
            and not _one_narrow_length(n, out)):
        return _UnevenBinMeans.apply(x, dim, out)
    total, count = _bin_sums(x, dim, out)
    return total / count


class _UnevenBinMeans(torch.autograd.Function):
    """:func:`_bin_means` over bins that do not tile the axis, with its backward written
    out. Autograd's own backward of the gathered taps writes an input-sized gradient per
    tap (index_select's backward: zeros, then index_add): 64x14x14 -> 5, forward and
    backward, took 2-5 times F.adaptive_avg_pool2d's time. The gradient of input position
    j is the sum of ``grad / count`` over the bins holding j, and those are positions
    ``floor(j * out / n)`` to ``ceil((j + 1) * out / n)`` of the output: the adaptive bins
    from ``out`` back to ``n``. So the backward is the same bin sum, the other way."""

    @staticmethod
    def forward(x: torch.Tensor, dim: int, out: int) -> torch.Tensor:
        total, count = _bin_sums(x, dim, out)
        return total / count

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, ctx.dim, out = inputs
        ctx.n = x.shape[ctx.dim]
        ctx.count = _bin_bounds(ctx.n, out, x.dim() - ctx.dim, x.device)[1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # Differentiable operations only, so a second derivative (create_graph) works.
        return _bin_sums(grad / ctx.count.to(grad.dtype), ctx.dim, ctx.n)[0], None, None


def _bin_sums(x: torch.Tensor, dim: int, out: int) -> tuple[torch.Tensor, torch.Tensor | int]:
    """The sum over each of ``out`` adaptive bins along ``dim``, and the bins' lengths (an
    int where all are equal, else shaped (out, 1, ...) to broadcast over the later axes)."""
    n = x.shape[dim]
    # The widest bin's length in Python; the bounds on the device as arange (a tensor made
    # from a list is a copy from the host, which on a GPU waits for the queued kernels).
    width = max(-(-(i + 1) * n // out) - i * n // out for i in range(out))
    if n % out == 0:  # equal bins that tile the axis
        if width > _MAX_TAPS:  # wide: global pooling, 56 -> 7
            return x.unflatten(dim, (out, width)).sum(dim + 1), width
        before = (slice(None),) * dim  # narrow, 14 -> 7: tap t is every width-th position
        return _added(x[before + (slice(t, None, width),)] for t in range(width)), width
    start, count = _bin_bounds(n, out, x.dim() - dim, x.device)
    if _one_narrow_length(n, out):  # overlapping bins of one length, 14 -> 6: no padding
        return _added(x.index_select(dim, start + t) for t in range(width)), width
    # A zero at position n stands for the positions past the end of the shorter bins. (A
    # product with a 0/1 mask would turn a neighbour's inf into NaN; torch.where over the
    # gathered bins took longer than the gathering.)
    padded = torch.cat([x, x.new_zeros(x.shape[:dim] + (1,) + x.shape[dim + 1:])], dim)
    taps = torch.arange(width, device=x.device).view(width, 1)
    index = torch.where(taps < count.view(out), start + taps, n)  # (width, out)
    if width <= _MAX_UNEVEN_TAPS:  # 14 -> 5, 13 -> 5, 1 -> 7 (upsampling), 28 -> 3
        # Tap t holds each bin's t-th position: no reduction, no copy of every bin.
        return _added(padded.index_select(dim, i) for i in index), count.to(x.dtype)
    bins = padded.index_select(dim, index.t().flatten()).unflatten(dim, (out, width))
    return bins.sum(dim + 1), count.to(x.dtype)


def _added(taps) -> torch.Tensor:
    total = None
    for tap in taps:
        total = tap if total is None else total + tap
    return total


# Bins of up to this many positions are summed tap by tap; wider ones by one reduction.
# PyTorch's CPU reductions over a short axis are slow (64x256x14x14 -> 7: about 6 times
# the taps' time). Where the bins tile the axis each tap is a strided view, whose backward
# writes a whole input-sized gradient (global pooling of 7x7: the taps took 3 times the
# reduction); uneven bins have _UnevenBinMeans's backward, which writes one, so they are
# summed tap by tap further. 2-core x86, one thread.
_MAX_TAPS = 4
_MAX_UNEVEN_TAPS = 16


def _one_narrow_length(n: int, out: int) -> bool:
    """Whether the ``out`` adaptive bins over ``n`` all hold the same number of positions,
    at most _MAX_TAPS (14 -> 6: 3 each, overlapping). Their taps need no zero padding, and
    autograd's own backward of them is the faster one: 32x64x14x14 -> 6, forward and
    backward, took 1.75 times as long padded and through _UnevenBinMeans (2-core x86,
    one thread; the padding copies the whole input, and the backward pads again)."""
    lengths = {-(-(i + 1) * n // out) - i * n // out for i in range(out)}
    return len(lengths) == 1 and max(lengths) <= _MAX_TAPS


def _bin_bounds(n: int, out: int, trailing: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The first position of each of ``out`` adaptive bins over ``n`` (shape (out,)) and
    their lengths, shaped (out, 1, ...) to broadcast over the ``trailing - 1`` axes after."""
    i = torch.arange(out, device=device)
    start = i * n // out
    count = -(-(i + 1) * n // out) - start  # ceil((i + 1) * n / out) - start
    return start, count.view((out,) + (1,) * (trailing - 1))
