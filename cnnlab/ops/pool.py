"""Max and average pooling from scratch (adaptive average pooling: adaptive_pool.py).

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
# adaptive_avg_pool2d lived here first: cnnlab.ops.pool.adaptive_avg_pool2d still works.

from __future__ import annotations

import torch

from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d  # noqa: F401 (see above)
from cnnlab.ops.conv import (
    IntPair,
    as_pair,
    conv_output_size,
    in_layout_of,
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
        if xp.requires_grad and torch.is_grad_enabled() and not traced():
            y = _TapMax.apply(xp, real, kernel, stride, dil, out_size)[0]
        else:
            y = _tap_max(xp, kernel, stride, dil, out_size, real)[0]
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


def _tap_max(xp, kernel, stride, dil, out_size, real=None, winner=False):
    """(the running maximum over the taps, which tap won each window or None).

    The strict '>' keeps the earlier tap on a tie, so the gradient reaches the first
    maximum only, PyTorch's rule (amax would split it among the tied entries). A NaN
    wins, as in PyTorch. With ``real`` (the mask of non-padding pixels), a real pixel
    also replaces a padding tap it ties: PyTorch's window starts at its first real
    pixel, so a window of -inf pixels sends its gradient there, not into the padding.
    ``winner``: also keep the winning tap's number (uint8), for :class:`_TapMax`."""
    best = best_real = won = None
    reals = _taps(real, kernel, stride, dil, out_size) if real is not None else None
    for t, tap in enumerate(_taps(xp, kernel, stride, dil, out_size)):
        tap_real = next(reals) if reals is not None else None
        if best is None:
            best, best_real = tap, tap_real
            won = torch.zeros(tap.shape, dtype=torch.uint8, device=tap.device) if winner else None
            continue
        take = (tap > best) | tap.isnan()
        if reals is not None:
            take = take | (tap_real & ~best_real)
            best_real = best_real | tap_real  # a padding tap never beats a real pixel
        best = torch.where(take, tap, best)
        if winner:
            won = torch.where(take, t, won).to(torch.uint8)
    return best, won


class _TapMax(torch.autograd.Function):
    """:func:`_tap_max` with its backward written out: each window's gradient goes to the
    tap that won it, one masked add per tap. Autograd's own backward of the chain of
    ``torch.where`` made two input-sized tensors per tap: ResNet's 3x3, stride-2 stem
    pool took 4 times PyTorch's time forward and backward (16x64x56x56)."""

    @staticmethod
    def forward(xp, real, kernel, stride, dil, out_size):
        return _tap_max(xp, kernel, stride, dil, out_size, real, winner=True)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        xp, _, ctx.kernel, ctx.stride, ctx.dil, ctx.out_size = inputs
        ctx.padded_shape = xp.shape
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1])

    @staticmethod
    def backward(ctx, grad, _):
        (won,) = ctx.saved_tensors
        zero, grad_in = grad.new_zeros(()), grad.new_zeros(ctx.padded_shape)
        if not torch.is_grad_enabled():  # where, not a product: a NaN gradient stays put
            taps = _taps(grad_in, ctx.kernel, ctx.stride, ctx.dil, ctx.out_size)
            for t, tap in enumerate(taps):  # views of grad_in, overlapping where s < k
                tap.add_(torch.where(won == t, grad, zero))
            return grad_in, None, None, None, None, None
        # create_graph (a second derivative): out of place, differentiable operations.
        (kh, kw), (sh, sw), (dh, dw) = ctx.kernel, ctx.stride, ctx.dil
        (oh, ow) = ctx.out_size
        for t in range(kh * kw):
            i, j = divmod(t, kw)
            part = torch.where(won == t, grad, zero)
            rows = torch.slice_scatter(grad.new_zeros(*grad.shape[:3], ctx.padded_shape[3]),
                                       part, 3, j * dw, j * dw + (ow - 1) * sw + 1, sw)
            grad_in = grad_in + torch.slice_scatter(
                grad.new_zeros(ctx.padded_shape), rows, 2, i * dh, i * dh + (oh - 1) * sh + 1, sh)
        return grad_in, None, None, None, None, None


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
