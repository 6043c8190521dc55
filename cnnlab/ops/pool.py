"""Max and average pooling from scratch, and adaptive average pooling.

:func:`pool2d` reproduces ``F.max_pool2d`` / ``F.avg_pool2d`` (values and
gradients), including their less obvious rules:

- Max pooling pads with -inf, so padding never wins a window; PyTorch allows at
  most half the kernel size as padding, so every window sees a real pixel.
- A tie sends the whole gradient to the *first* maximum in row-major window order
  (as PyTorch's kernel does), not split among the tied entries as ``amax`` would.
  This matters after a ReLU, where many windows are all zeros.
- Average pooling divides by the window size including the zero padding
  (``count_include_pad=True``, the default) or by the real pixels only; a window
  that ``ceil_mode`` lets hang over the padded input counts only the part inside it.
- ``ceil_mode`` rounds the output size up, but drops a last window that would
  start in the right/bottom padding.

Both modes work tap by tap: each of the kh * kw window positions is one strided
slice of the padded input, combined by a running max or sum, so the windows are
never copied out.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from cnnlab.ops.conv import (
    IntPair,
    as_pair,
    autocast_on,
    conv_output_size,
    in_layout_of,
    is_whole,
    one_axis_args,
)
from cnnlab.ops.fast_pool import traced

MODES = ("max", "avg")


def pool_output_size(
    n: int,
    k: int | None = None,
    p: int = 0,
    s: int | None = None,
    d: int = 1,
    ceil_mode: bool = False,
    *,
    kernel_size: int | None = None,
    padding: int | None = None,
    stride: int | None = None,
    dilation: int | None = None,
) -> int:
    """Pooled length along one axis; ``p`` is the *total* padding, as in conv_output_size.

    ``kernel_size``, ``padding`` (per side, as pool2d's), ``stride`` and ``dilation`` may
    be given instead of ``k``, ``p`` (total), ``s`` and ``d``, as for
    :func:`conv_output_size`.

    The stride defaults to the window, as :func:`pool2d`'s and PyTorch's pooling's do
    (``pool_output_size(28, 2)`` is 14; it was 27, conv_output_size's stride of 1).
    Without ``ceil_mode`` this is exactly :func:`conv_output_size`. With it, the
    division rounds up, and a last window starting at or beyond ``n + p // 2`` (in
    the trailing padding) is dropped, PyTorch's rule. Rounding up lets a window hang
    over the end, so in ceil mode a kernel may even be longer than the padded input.
    """
    if s is None:  # the window, unless stride= says otherwise
        s = 1 if stride is not None else (kernel_size if kernel_size is not None else k)
    k, p, s, d = one_axis_args("pool_output_size", k, p, s, d,
                               kernel_size, padding, stride, dilation)
    if not ceil_mode:
        return conv_output_size(n, k, p, s, d)
    if n < 1 or k < 1 or s < 1 or d < 1 or p < 0:
        raise ValueError(f"pool_output_size needs n, k, s, d >= 1 and p >= 0, got n={n}, k={k}, "
                         f"p={p}, s={s}, d={d}")
    k_eff = d * (k - 1) + 1
    size = -(-(n + p - k_eff) // s) + 1
    if (size - 1) * s >= n + p // 2:
        size -= 1
    if size < 1:
        raise ValueError(f"pooling window spans {k_eff} but the padded input is only {n + p} "
                         f"wide; no window starts inside it")
    return size


def pool2d(
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    mode: str = "max",
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """Max or average over each (dilated) window, like ``F.max_pool2d`` / ``F.avg_pool2d``.

    Args:
        x: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or an (h, w) pair.
        stride: step between windows; ``None`` means the kernel size (PyTorch's default).
        padding: added on *each* side; at most half the kernel size.
        mode: ``"max"`` or ``"avg"``.
        dilation: spacing between window taps (max pooling only, as in PyTorch).
        ceil_mode: round the output size up instead of down.
        count_include_pad: average pooling only: count padded zeros in the divisor.

    Integer input: max pooling takes any integer type; average pooling int64 only, as
    F.avg_pool2d on the CPU, summing in int64 and truncating the quotient toward zero.

    Returns:
        (N, C, H_out, W_out), ``H_out = pool_output_size(H, kh, 2 * padding, stride,
        dilation, ceil_mode)``.
    """
    # The arguments first: the book's pool2d(X, (2, 2), 'avg') is told how to write it here.
    kernel, stride, pad, dil = check_pool_args(kernel_size, stride, padding, mode, dilation)
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        hint = "; for one (H, W) image, as the book pools, give X[None]" if x.dim() == 2 else ""
        raise ValueError(f"pool2d input must be (N, C, H, W) or (C, H, W), got "
                         f"{tuple(x.shape)}{hint}")
    out_size = tuple(
        pool_output_size(n, k, 2 * p, s, d, ceil_mode)
        for n, k, p, s, d in zip(x.shape[2:], kernel, pad, stride, dil, strict=True)
    )
    if x.dtype == torch.bool:
        raise TypeError("pool2d of a bool tensor: give numbers (x.float() or x.to(torch.uint8))"
                        "; torch's pooling takes no bools either")
    if mode == "avg" and not x.is_floating_point() and x.dtype != torch.int64:
        # They came out float32, where F.avg_pool2d refuses them.
        raise TypeError(f"average pooling of a {x.dtype} tensor: give x.float() for the mean, "
                        f"or x.long() for an int64 mean truncated toward zero as F.avg_pool2d "
                        f"gives it (whose integer input is int64 only)")
    fill = 0.0
    if mode == "max":  # a value no pixel is below: -inf, or an integer type's least
        fill = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
    xp = _pad(x, pad, kernel, stride, dil, out_size, fill)
    if mode == "max":
        real = None  # which pixels are not padding, where a gradient could reach padding
        if x.requires_grad and xp.shape != x.shape:
            real = _pad(x.new_ones((1, 1, *x.shape[2:]), dtype=torch.bool), pad, kernel,
                        stride, dil, out_size, False)
        y = _tap_max(xp, kernel, stride, dil, out_size, real)
    else:
        # Half precision sums in float32, as PyTorch's kernels accumulate: 49 values
        # near 100 summed in bfloat16 (8 significant bits) were off by 2.5.
        low = x.dtype in (torch.float16, torch.bfloat16)
        y = _tap_sum(xp.float() if low else xp, kernel, stride, out_size)
        divisor = _divisor(x, kernel, stride, pad, out_size, count_include_pad)
        if x.dtype == torch.int64:  # F.avg_pool2d's integer sum and C division: truncated
            y = torch.div(y, divisor, rounding_mode="trunc")
        else:
            y = y / divisor
        y = y.to(x.dtype) if low else y
    # contiguous(): a 1x1 max window's "running max" is its one tap, a strided view of
    # the padded copy, which .view() refused (the stride-2 1x1 pool of an FPN's P6).
    y = in_layout_of(y.contiguous(), x)
    return y.squeeze(0) if unbatched else y


def check_pool_args(kernel_size, stride, padding, mode, dilation):
    """Validated (kernel, stride, padding, dilation) pairs; stride None means the kernel."""
    if mode not in MODES:
        # A number here is F.max_pool2d's positional dilation or F.avg_pool2d's ceil_mode.
        raise ValueError(f"pool2d mode must be one of {MODES}, not {mode!r}; pool2d's fifth "
                         f"argument is mode, so give dilation=, ceil_mode= and "
                         f"count_include_pad= by name")
    if isinstance(stride, str):  # the book's pool2d(X, pool_size, mode)
        raise TypeError(f"pool2d's third argument is the stride, got {stride!r}; give the mode "
                        f"by name: pool2d(X, 2, stride=1, mode={stride!r}) is the book's "
                        f"pool2d(X, (2, 2), {stride!r})")
    kernel = as_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else as_pair(stride, "stride")
    pad, dil = as_pair(padding, "padding"), as_pair(dilation, "dilation")
    if min(kernel) < 1 or min(stride) < 1 or min(dil) < 1 or min(pad) < 0:
        raise ValueError(f"pool2d needs kernel, stride, dilation >= 1 and padding >= 0, got "
                         f"kernel={kernel}, stride={stride}, dilation={dil}, padding={pad}")
    if mode == "avg" and dil != (1, 1):
        raise ValueError(f"average pooling has no dilation (PyTorch's has none either), "
                         f"got dilation={dil}")
    for k, p in zip(kernel, pad, strict=True):
        if p > k // 2:
            raise ValueError(f"pool2d padding {p} exceeds half the kernel size {k}; a window "
                             f"could then see only padding (PyTorch refuses it too)")
    return kernel, stride, pad, dil


def _pad(x, pad, kernel, stride, dil, out_size, fill) -> torch.Tensor:
    """``x`` inside a border of ``fill``, widened at the bottom/right for ceil_mode windows."""
    n, c, h, w = x.shape
    size = []
    for length, k, p, s, d, out in zip((h, w), kernel, pad, stride, dil, out_size,
                                       strict=True):
        needed = (out - 1) * s + d * (k - 1) + 1
        size.append(max(length + 2 * p, needed))
    xp = x.new_full((n, c, *size), fill)
    xp[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w] = x
    return xp


def _taps(xp, kernel, stride, dil, out_size):
    """For each window tap (i, j) in row-major order, the (N, C, H_out, W_out) strided
    slice of the pixels it sees in every window: no copy of the windows."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            yield xp[:, :, i * dil[0] : i * dil[0] + (out_size[0] - 1) * stride[0] + 1 : stride[0],
                     j * dil[1] : j * dil[1] + (out_size[1] - 1) * stride[1] + 1 : stride[1]]


def _tap_max(xp, kernel, stride, dil, out_size, real=None) -> torch.Tensor:
    # A running maximum over the taps. The strict '>' keeps the earlier tap on a tie,
    # so the gradient reaches the first maximum only, PyTorch's rule (amax would
    # split it among the tied entries). A NaN wins, as in PyTorch. With ``real`` (the
    # mask of non-padding pixels), a real pixel also replaces a padding tap it ties:
    # PyTorch's window starts at its first real pixel, so a window of -inf pixels
    # sends its gradient there, not into the padding.
    best = best_real = None
    reals = _taps(real, kernel, stride, dil, out_size) if real is not None else None
    for tap in _taps(xp, kernel, stride, dil, out_size):
        tap_real = next(reals) if reals is not None else None
        if best is None:
            best, best_real = tap, tap_real
            continue
        take = (tap > best) | tap.isnan()
        if reals is not None:
            take = take | (tap_real & ~best_real)
            best_real = best_real | tap_real  # a padding tap never beats a real pixel
        best = torch.where(take, tap, best)
    return best


def _tap_sum(xp, kernel, stride, out_size) -> torch.Tensor:
    total = None
    for tap in _taps(xp, kernel, stride, (1, 1), out_size):
        total = tap if total is None else total + tap
    return total


def _divisor(x, kernel, stride, pad, out_size, count_include_pad) -> torch.Tensor | int:
    """Average pooling's per-window divisor: the count of pixels it is told to include."""
    h, w = x.shape[2:]
    fits = [(o - 1) * s + k <= n + 2 * p
            for o, s, k, n, p in zip(out_size, stride, kernel, (h, w), pad, strict=True)]
    if count_include_pad and all(fits):
        return kernel[0] * kernel[1]  # every window lies within the padded input
    # Otherwise sum-pool a mask of the pixels that count.
    mask = _pad(x.new_zeros((1, 1, h, w)), pad, kernel, stride, (1, 1), out_size, 0.0)
    if count_include_pad:
        mask[:, :, : h + 2 * pad[0], : w + 2 * pad[1]] = 1.0
    else:
        mask[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w] = 1.0
    return _tap_sum(mask, kernel, stride, out_size)


def adaptive_avg_pool2d(x: torch.Tensor, output_size: int | tuple[int | None, int | None]):
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
    if not h or not w:  # every bin would be empty (this gave zeros)
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
