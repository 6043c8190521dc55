"""Convolution by the convolution theorem: pointwise products in the frequency domain.

``F^-1[F(f) F(g)] = f * g`` (chapter notes, section 1(1)). A CNN layer computes a
*cross*-correlation, which the theorem handles with a conjugate:
``corr(x, k) = F^-1[F(x) conj(F(k))]``. The discrete transform is circular, so
both the padded input and the kernel are zero-extended to a common size of at
least the padded input; the outputs conv2d keeps then never wrap around.

Each of the other conv2d options maps onto this:

- padding: zeros around the input before transforming;
- dilation: the kernel dilated by inserting zeros between its taps;
- stride: every s-th output of the full (stride-1) correlation;
- channels and groups: at every frequency, output channel o is the sum over the
  input channels c of its group of ``X[n, c] * conj(K[o, c])``, a small complex
  matrix product per frequency and group.

The cost does not depend on the kernel size (beyond making the transform a little
longer), which is why FFT convolution overtakes direct convolution for large
kernels; ``cnnlab.bench.ops`` measures where.
"""

from __future__ import annotations

import torch

from cnnlab.ops.conv import (
    ConvGeometry,
    IntPair,
    Padding,
    as_f_conv2d_computes,
    empty_output,
    in_layout_of,
    pad_zeros,
)


def fft_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """Same signature and results as :func:`cnnlab.ops.conv2d`, computed with ``torch.fft``.

    Args:
        x: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_out, C_in / groups, kh, kw).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: as in ``F.conv2d`` (padding may be an
            int, a pair, ``"same"`` or ``"valid"``).

    Returns:
        (N, C_out, H_out, W_out), contiguous (channels-last for a channels-last input,
        as F.conv2d gives it), in the dtype F.conv2d gives (under
        autocast, its dtype). Half-precision inputs are transformed in float32: torch.fft
        takes no bfloat16, and float16 on CUDA only at power-of-two sizes.

    An inf or NaN anywhere in an image (or kernel) makes its whole output NaN: every
    frequency sums every pixel. F.conv2d keeps it to the outputs whose windows hold it.
    """
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    x, weight, bias = as_f_conv2d_computes(x, weight, bias)
    g = ConvGeometry.of(x, weight, bias, stride, padding, dilation, groups)
    if g.n == 0 or g.c_in == 0 or g.c_out == 0:  # nothing to transform (see empty_output)
        y = in_layout_of(empty_output(x, weight, bias, g), x, weight)
        return y.squeeze(0) if unbatched else y
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):
        x, weight = x.float(), weight.float()
        bias = None if bias is None else bias.float()
    xp = pad_zeros(x, g.pad)
    kernel = _dilate(weight, g.dilation)
    size = (next_fast_len(xp.shape[2]), next_fast_len(xp.shape[3]))

    x_hat = torch.fft.rfft2(xp, s=size)  # (N, C_in, fh, fw // 2 + 1)
    k_hat = torch.fft.rfft2(kernel, s=size)  # (C_out, C_in / G, fh, fw // 2 + 1)
    fh, fr = x_hat.shape[-2:]
    x_hat = x_hat.view(g.n, g.groups, g.c_in // g.groups, fh, fr)
    k_hat = k_hat.view(g.groups, g.c_out // g.groups, g.c_in // g.groups, fh, fr)
    y_hat = torch.einsum("ngcuv,gocuv->ngouv", x_hat, k_hat.conj())
    y = torch.fft.irfft2(y_hat.reshape(g.n, g.c_out, fh, fr), s=size)

    sh, sw = g.stride
    y = y[:, :, : (g.h_out - 1) * sh + 1 : sh, : (g.w_out - 1) * sw + 1 : sw]
    # A strided view: adding the bias to it kept its odd strides (batch inside channels),
    # and .view(n, -1) of the result failed; contiguous first, then the bias.
    y = y.contiguous()
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    y = in_layout_of(y.to(dtype), x, weight)
    return y.squeeze(0) if unbatched else y


def _dilate(weight: torch.Tensor, dilation: tuple[int, int]) -> torch.Tensor:
    """Insert ``d - 1`` zeros between neighbouring taps: a dense kernel with the same effect."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return weight
    c_out, cg, kh, kw = weight.shape
    out = weight.new_zeros((c_out, cg, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[:, :, ::dh, ::dw] = weight
    return out


def next_fast_len(n: int) -> int:
    """Smallest length >= n whose only prime factors are 2, 3 and 5.

    FFT libraries (pocketfft on CPU, cuFFT) are fastest on such lengths; a length
    with a large prime factor can take several times longer.
    """
    m = n
    while True:
        rest = m
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return m
        m += 1
