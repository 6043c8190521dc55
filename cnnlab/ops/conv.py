"""Two-dimensional cross-correlation ("convolution") from scratch, vectorised.

- :func:`~cnnlab.ops.corr.corr2d` (and its multi-channel forms, in :mod:`cnnlab.ops.corr`)
  is the readable reference, the Dive into Deep Learning loop over output positions;
  slow, and kept as the definition the fast version is tested against.
- :func:`conv2d` is the vectorised drop-in for ``torch.nn.functional.conv2d``:
  batched, multi-channel, padding (int, pair, ``"same"``, ``"valid"``), stride,
  dilation, groups.

:func:`conv2d` turns the convolution into matrix products in one of two ways:

- ``"shift"``: one GEMM per kernel tap, each reading the channels-last input at
  an offset, accumulated block by block in cache; no unfolded copy of the input.
  It lives in :mod:`cnnlab.ops.shift`, whose docstring explains it.
- ``"unfold"``: im2col. Every receptive field is copied into a column of a
  (k*k*C_in, positions) matrix and one GEMM applies all taps at once: k*k copies
  of the input, but only real output positions and one long inner dimension.
- ``"auto"`` picks by :func:`choose_method`.

Both hot paths have hand-written backward passes (convolution-shaped loops
again, see ``shift._ShiftConv`` and ``_Im2col``), tested against PyTorch's gradients.

Padding is per side, as in PyTorch; :func:`conv_output_size` takes the *total*
padding ``p``, as the chapter notes' formula does, or conv2d's per-side ``padding=``.
"""

from __future__ import annotations

import numbers

import torch

# The loop reference lived here first: cnnlab.ops.conv.corr2d still works.
from cnnlab.ops.corr import corr2d, corr2d_multi_in, corr2d_multi_in_out  # noqa: F401
from cnnlab.ops.shift import conv_shift

IntPair = int | tuple[int, int]
Padding = int | tuple[int, int] | str
METHODS = ("auto", "shift", "unfold")


# ---------------------------------------------------------------- sizes


def conv_output_size(
    n: int,
    k: int | None = None,
    p: int = 0,
    s: int = 1,
    d: int = 1,
    *,
    kernel_size: int | None = None,
    padding: int | str | None = None,
    stride: int | None = None,
    dilation: int | None = None,
) -> int:
    """Output length along one axis: ``floor((n - k_eff + p + s) / s)``.

    **``p`` is the total padding (both sides together), as in the book's formula;
    ``padding=`` is conv2d's, zeros on each side.** ``conv_output_size(28, 5, 4)`` and
    ``conv_output_size(28, kernel_size=5, padding=2)`` are both the 28 of
    ``conv2d(x, w, padding=2)``; ``conv_output_size(28, 5, 2)`` is 26.

    This is the chapter notes' formula (``floor((n_h - k_h + p_h + s_h) / s_h)``)
    generalised to dilation by the *effective* kernel size ``k_eff = d * (k - 1) + 1``,
    the span one dilated kernel covers.

    Args:
        n: input length.
        k: kernel length.
        p: **total** padding added along this axis (both sides together), as in the
            notes. PyTorch's ``padding=P`` pads P on *each* side, so pass ``2 * P``;
            for ``padding="same"`` the total is ``d * (k - 1)``.
        s: stride.
        d: dilation.
        kernel_size, padding, stride, dilation: conv2d's names, for one axis, instead
            of ``k``, ``p``, ``s``, ``d``; ``padding`` is per side (an int, ``"same"``
            or ``"valid"``), so the total ``p`` is twice it.

    Raises:
        ValueError: for a non-positive size, stride or dilation, negative padding,
            or a dilated kernel wider than the padded input (no output position).
        TypeError: for a value given under both names (``s`` and ``stride``).
    """
    k, p, s, d = one_axis_args("conv_output_size", k, p, s, d,
                               kernel_size, padding, stride, dilation)
    if not is_whole(n):
        raise TypeError(f"conv_output_size: n must be a whole number, got {n!r}")
    if n < 1 or k < 1 or s < 1 or d < 1 or p < 0:
        raise ValueError(f"conv_output_size needs n, k, s, d >= 1 and p >= 0, got n={n}, "
                         f"k={k}, p={p}, s={s}, d={d}")
    k_eff = d * (k - 1) + 1
    if n + p < k_eff:
        raise ValueError(
            f"kernel spans {k_eff} (k={k}, dilation={d}) but the padded input is only "
            f"{n + p} wide (n={n} + total padding {p}); pad more or use a smaller kernel"
        )
    return (n - k_eff + p + s) // s


def one_axis_args(func: str, k, p, s, d, kernel_size, padding, stride, dilation
                  ) -> tuple[int, int, int, int]:
    """(k, total p, s, d) from the book's short names or conv2d's long ones (padding per
    side); a value given both ways is a TypeError, as Python's own duplicate is."""
    # A short name left at its default (None, 0, 1, 1) counts as not given.
    both = [(short, value, long, long_value) for short, value, default, long, long_value in (
        ("k", k, None, "kernel_size", kernel_size), ("p", p, 0, "padding", padding),
        ("s", s, 1, "stride", stride), ("d", d, 1, "dilation", dilation),
    ) if value != default and long_value is not None]
    if both:
        short, value, long, long_value = both[0]
        raise TypeError(f"{func} got both {short}={value!r} and {long}={long_value!r}; "
                        f"give one ({short} is the book's, {long} conv2d's)")
    k = kernel_size if kernel_size is not None else k
    if k is None:
        raise TypeError(f"{func} needs the kernel length: k (or kernel_size)")
    s = stride if stride is not None else s
    d = dilation if dilation is not None else d
    for name, value in (("k", k), ("p", p), ("s", s), ("d", d)):
        if not is_whole(value):  # 5.0 would make every size a float
            raise TypeError(f"{func}: {name} must be a whole number, got {value!r}")
    if padding is None:
        return k, p, s, d
    if padding == "valid":
        return k, 0, s, d
    if padding == "same":
        if s != 1:
            raise ValueError(f"{func}: padding='same' needs stride 1, got stride {s} (conv2d "
                             "and F.conv2d refuse it too)")
        return k, d * (k - 1), s, d
    if not is_whole(padding):
        raise TypeError(f"{func}'s padding= is zeros on each side, an int or 'same' / "
                        f"'valid', got {padding!r}; p= is the total (both sides)")
    return k, 2 * padding, s, d


def is_whole(value) -> bool:
    """A whole number as torch takes one (numpy's too), not a bool (``stride=True``)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_pair(value: IntPair, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays a pair; anything else is a TypeError naming ``name``."""
    if is_whole(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(is_whole(v) for v in value):
            return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def resolve_padding(
    padding: Padding, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Per-side padding ``((top, bottom), (left, right))`` from conv2d's ``padding`` argument.

    ``"same"`` pads ``d * (k - 1)`` in total per axis; when that is odd the extra row
    or column goes at the bottom/right, which is what PyTorch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', not {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1 (got stride={stride}), as in PyTorch")
        sides = []
        for k, d in zip(kernel, dilation, strict=True):
            total = d * (k - 1)
            sides.append((total // 2, total - total // 2))
        return sides[0], sides[1]
    ph, pw = as_pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return (ph, ph), (pw, pw)


# ---------------------------------------------------------------- vectorised


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    method: str = "auto",
) -> torch.Tensor:
    """Cross-correlate a batch of images with a bank of kernels, like ``F.conv2d``.

    Args:
        x: (N, C_in, H, W), or (C_in, H, W) for a single image.
        weight: (C_out, C_in / groups, kh, kw).
        bias: (C_out,) or None.
        stride, dilation: an int or an (h, w) pair.
        padding: zeros added on *each* side, an int or an (h, w) pair; or
            ``"same"`` (output as large as the input, stride 1 only) or ``"valid"`` (0).
        groups: split input and output channels into this many independent
            groups; ``groups == C_in`` with ``C_out = m * C_in`` is a depthwise conv.
        method: ``"shift"``, ``"unfold"`` or ``"auto"`` (see the module docstring).
            Second derivatives (a gradient penalty, say) need ``"unfold"``: the
            shift method's hand-written backward is not itself differentiable.

    Returns:
        (N, C_out, H_out, W_out) with ``H_out = conv_output_size(H, kh, top + bottom,
        stride, dilation)``, contiguous in the input's memory format (NCHW, or
        channels-last for a channels-last input or weight), as ``F.conv2d`` returns it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    x, weight, bias = as_f_conv2d_computes(x, weight, bias)
    geom = ConvGeometry.of(x, weight, bias, stride, padding, dilation, groups)
    if geom.n == 0 or geom.c_in == 0 or geom.c_out == 0:
        y = empty_output(x, weight, bias, geom)
    else:
        if method == "auto":
            method = choose_method(geom)
        conv = conv_shift if method == "shift" else _conv_unfold
        y = conv(x, weight, bias, geom)
    y = in_layout_of(y, x, weight)
    return y.squeeze(0) if unbatched else y


def in_layout_of(y: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """``y`` channels-last where an input is (and not also plainly contiguous), as F.conv2d
    and F's pooling give it: the unfold method's product, pooling's taps and the FFT's
    inverse come out NCHW, and a network put in channels_last would flip at every layer."""
    if any(t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()
           for t in inputs):
        return y.contiguous(memory_format=torch.channels_last)
    return y


def empty_output(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                 g: ConvGeometry) -> torch.Tensor:
    """A convolution with no images, output or input channels, connected to every input.
    With no input channels each output sums nothing: the bias (or 0), where F.conv2d
    gives an empty (N, 0, ...) (pytorch/pytorch#101356; torch.compile gives ours)."""
    out = x.new_zeros((g.n, g.c_out, g.h_out, g.w_out))
    out = out + bias.view(1, -1, 1, 1) if bias is not None and out.numel() else out
    # x and weight are empty here, or else the output is: no NaN * 0 reaches a value.
    return out + (x.sum() + weight.sum() + (0 if bias is None or out.numel() else bias.sum())) * 0


def as_f_conv2d_computes(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
    """``(x, weight, bias)`` in the dtype F.conv2d computes in; a TypeError for mixed ones.

    Under ``torch.autocast`` (``--amp``) F.conv2d, on autocast's lower-precision list,
    casts its floating-point arguments to the autocast dtype; so does this, else a
    bfloat16 input (an earlier layer's matrix product, autocast) met float32 weights.
    Outside autocast the dtypes must agree, as F.conv2d requires.
    """
    if x.is_floating_point() and autocast_on(x):
        dtype = torch.get_autocast_dtype(x.device.type)
        # As autocast casts: floating-point tensors, float64 left as it is.
        x, weight, bias = (t.to(dtype) if t is not None and t.is_floating_point()
                           and t.dtype != torch.float64 else t for t in (x, weight, bias))
        if x.dtype == weight.dtype and (bias is None or bias.dtype == x.dtype):
            return x, weight, bias
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"conv2d input is {x.dtype} but {name} is {t.dtype}; convert "
                            "one (model.to(dtype)) or run under torch.autocast, as F.conv2d "
                            "requires")
    return x, weight, bias


def autocast_on(x: torch.Tensor) -> bool:
    """Whether ``torch.autocast`` is on for ``x``'s device (never for "meta", which has none)."""
    device = x.device.type
    return torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device)


class ConvGeometry:
    """Validated shapes and hyperparameters of one conv2d call (read by shift.py and fft.py too).

    Attributes: n, c_in, h, w (input); c_out, kh, kw, groups (weight); stride,
    dilation (pairs); pad = (top, bottom, left, right); h_out, w_out.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def of(cls, x, weight, bias, stride, padding, dilation, groups) -> ConvGeometry:
        if x.dim() != 4:
            raise ValueError(f"conv2d input must be (N, C, H, W) or (C, H, W), got {tuple(x.shape)}"
                             + ("; for the book's 2-D X and K, corr2d(X, K), or conv2d(X[None, "
                                "None], K[None, None])" if x.dim() == 2 else ""))
        if weight.dim() != 4:
            raise ValueError(f"conv2d weight must be (C_out, C_in/groups, kh, kw), got "
                             f"{tuple(weight.shape)}")
        n, c_in, h, w = x.shape
        c_out, c_group, kh, kw = weight.shape
        if not is_whole(groups):  # 2.0 would fail deep in a reshape, naming nothing
            raise TypeError(f"conv2d groups must be a whole number, got {groups!r}")
        groups = int(groups)
        if groups < 1 or c_in % groups or c_out % groups:
            raise ValueError(f"groups={groups} must divide both input channels ({c_in}) and "
                             f"output channels ({c_out})")
        if c_group * groups != c_in:
            raise ValueError(f"weight expects {c_group} x groups={groups} = {c_group * groups} "
                             f"input channels, but the input has {c_in}")
        if bias is not None and bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")
        stride, dilation = as_pair(stride, "stride"), as_pair(dilation, "dilation")
        if min(stride) < 1 or min(dilation) < 1:
            raise ValueError(f"stride and dilation must be >= 1, got {stride}, {dilation}")
        (top, bottom), (left, right) = resolve_padding(padding, (kh, kw), stride, dilation)
        h_out = conv_output_size(h, kh, top + bottom, stride[0], dilation[0])
        w_out = conv_output_size(w, kw, left + right, stride[1], dilation[1])
        return cls(n=n, c_in=c_in, h=h, w=w, c_out=c_out, kh=kh, kw=kw, groups=groups,
                   stride=stride, dilation=dilation, pad=(top, bottom, left, right),
                   h_out=h_out, w_out=w_out)

    def phase_grid(self, stride: tuple[int, int]) -> tuple[int, int]:
        """Rows and columns of each stride phase of the padded input (rounded up)."""
        top, bottom, left, right = self.pad
        return (-(-(self.h + top + bottom) // stride[0]), -(-(self.w + left + right) // stride[1]))


def choose_method(g: ConvGeometry) -> str:
    """The faster method for this geometry, by rules read off ``cnnlab bench ops``.

    - 1x1 kernels: im2col is a plain matrix product with nothing to waste.
    - The shift method computes the whole phase grid; when that is over 4x the real
      output (a kernel nearly as large as the padded input), im2col wins.
    - Few input channels per group: the shift method's per-tap GEMMs have only
      C_in / groups as inner dimension, which BLAS runs poorly (below 16 for a dense
      conv, 8 for a grouped one, whose im2col GEMMs are thin too); im2col's one
      GEMM per group has k*k times more.
    - Otherwise shift, which copies the input once instead of k*k times.
    """
    hq, wq = g.phase_grid(g.stride)
    waste = hq * wq / (g.h_out * g.w_out)
    thin = g.c_in // g.groups < (16 if g.groups == 1 else 8)
    if g.kh * g.kw == 1 or waste > 4 or thin:
        return "unfold"
    return "shift"


def _conv_unfold(x, weight, bias, g: ConvGeometry) -> torch.Tensor:
    xp = pad_zeros(x, g.pad)
    win = im2col(xp, (g.kh, g.kw), g.stride, g.dilation)  # (N, C, kh, kw, Ho, Wo)
    k = g.c_in // g.groups * g.kh * g.kw
    batches = g.n * g.groups
    cols = win.view(batches, k, g.h_out * g.w_out)
    # The same (C_out/G, K) weight matrix for every image: a stride-0 expand, copied
    # only when there are several groups to interleave.
    w = weight.reshape(1, g.groups, -1, k).expand(g.n, -1, -1, -1).reshape(batches, -1, k)
    if bias is None:
        out = torch.bmm(w, cols)
    else:
        b = bias.view(1, g.groups, -1, 1).expand(g.n, -1, -1, -1).reshape(batches, -1, 1)
        out = torch.baddbmm(b, w, cols)
    return out.view(g.n, g.c_out, g.h_out, g.w_out)


def im2col(
    xp: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> torch.Tensor:
    """Every window of a (padded) (N, C, H, W) batch, copied out as (N, C, kh, kw, H_out, W_out).

    Channels first, as in Caffe: the copied rows run along the image width, long
    and contiguous, which copies much faster than channels-last rows of only
    C_in / groups values when channels are few. Differentiable: the backward is
    col2im, each tap's gradient added back onto the strided slice of pixels it
    read (autograd's generic backward for ``Tensor.unfold`` is several times slower).
    """
    return _Im2col.apply(xp, kernel, stride, dilation)


class _Im2col(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xp, kernel, stride, dilation):
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        ctx.geometry = xp.shape, kernel, stride, dilation
        win = xp.unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)
        return win[..., ::dh, ::dw].permute(0, 1, 4, 5, 2, 3).contiguous()

    @staticmethod
    def backward(ctx, grad):
        shape, (kh, kw), (sh, sw), (dh, dw) = ctx.geometry
        h_out, w_out = grad.shape[-2:]
        grad_x = grad.new_zeros(shape)
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + (h_out - 1) * sh + 1, sh)
                cols = slice(j * dw, j * dw + (w_out - 1) * sw + 1, sw)
                grad_x[:, :, rows, cols] += grad[:, :, i, j]
        return grad_x, None, None, None


def pad_zeros(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """(N, C, H, W) inside a border of zeros, ``pad = (top, bottom, left, right)``."""
    top, bottom, left, right = pad
    if not any(pad):
        return x
    n, c, h, w = x.shape
    xp = x.new_zeros((n, c, h + top + bottom, w + left + right))
    xp[:, :, top : top + h, left : left + w] = x
    return xp


