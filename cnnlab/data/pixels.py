"""Deterministic batch ops on pixel values: resize, and 0..255 -> normalised floats.

The non-random half of the data pipeline, shared by training (the loader), test-time
augmentation and prediction. Every op takes a whole batch ``N x C x H x W`` on
whatever device it lives on. The random, per-sample augmentations are in
:mod:`cnnlab.data.augment`, which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def check_batch(x: torch.Tensor) -> None:
    """Raise unless ``x`` is a 4-D tensor (a batch ``N x C x H x W``)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a batch N x C x H x W, got {shape}; "
                         "add the missing dims with unsqueeze")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        pair = (size, size)
    else:
        pair = tuple(int(s) for s in size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return pair


# --------------------------------------------------------------------------- resize


def resize(x: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Bilinear resize of a batch to ``size`` (int: square), antialiased when shrinking.

    uint8 in, uint8 out; float in, float out (bfloat16 and float16 computed in
    float32, then rounded once). On CPU a uint8 batch goes through
    PyTorch's uint8 antialiased kernel, which reproduces PIL's bilinear resize (what
    the book's ``transforms.Resize`` does to PIL images) pixel for pixel when
    enlarging. Elsewhere uint8 is resized in float and rounded back. When enlarging,
    the antialiased filter and plain bilinear (``align_corners=False``) coincide.

    Unlike ``torchvision.transforms.Resize(int)``, an int means a square output,
    not "shorter side"; the two agree on square images such as Fashion-MNIST.
    """
    check_batch(x)
    out_h, out_w = _pair(size)
    in_h, in_w = x.shape[-2:]
    if (out_h, out_w) == (in_h, in_w):
        return x
    shrinking = out_h < in_h or out_w < in_w
    if x.dtype == torch.uint8:
        if x.device.type == "cpu":
            return F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False,
                                 antialias=True)
        y = F.interpolate(x.float(), size=(out_h, out_w), mode="bilinear", align_corners=False,
                          antialias=shrinking)
        return y.round_().clamp_(0, 255).to(torch.uint8)
    if not x.is_floating_point():
        raise TypeError(f"resize needs a uint8 or floating batch, got {x.dtype}")
    if x.dtype in (torch.bfloat16, torch.float16):
        # PyTorch's antialiased CPU kernel has no half-precision version (it raised
        # NotImplementedError); float32 and one rounding give the same on every device.
        return resize(x.float(), (out_h, out_w)).to(x.dtype)
    return F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False,
                         antialias=shrinking)


def interpolation_matrix(n_in: int, n_out: int, *,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """``(n_out, n_in)`` float32: the linear map :func:`resize` applies along one axis.

    Obtained by resizing the identity with ``F.interpolate`` itself, so it is the
    same filter (bilinear, half-pixel centres, antialiased when shrinking) by
    construction, not a second implementation of it. Rows sum to 1.
    """
    # Each basis image is a one-pixel-high row: its resize is one column of the map.
    # (Along the height of a one-pixel-wide image, PyTorch 2.14's antialiased CPU
    # kernel returns wrong weights, so the width axis it is.)
    # Built on CPU (where the weights were checked) and moved: the map is tiny.
    eye = torch.eye(n_in).view(n_in, 1, 1, n_in)
    basis = F.interpolate(eye, size=(1, n_out), mode="bilinear", align_corners=False,
                          antialias=n_out < n_in)
    return basis[:, 0, 0, :].T.contiguous().to(device)


def resize_with_matrices(x: torch.Tensor, rows: torch.Tensor,
                         cols: torch.Tensor) -> torch.Tensor:
    """Separable resize of a float batch as two matrix products, ``rows @ x @ cols.T``.

    With matrices from :func:`interpolation_matrix` this equals :func:`resize` on
    floats up to rounding (1e-6 relative), and ran 3x faster on CPU for
    Fashion-MNIST's 28 -> 96: a small matmul beats the general interpolation kernel.
    On GPU, matmuls follow ``torch.backends.cuda.matmul.allow_tf32``; with TF32 on,
    expect errors near 1e-3 relative (a fraction of one grey level).
    """
    check_batch(x)
    if not x.is_floating_point():
        raise TypeError(f"resize_with_matrices needs a float batch, got {x.dtype}")
    return torch.matmul(torch.matmul(rows, x), cols.T)  # (N, C, H', W) -> (N, C, H', W')


# --------------------------------------------------------------------------- normalise


def _per_channel(values: float | Sequence[float] | torch.Tensor, channels: int,
                 name: str) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() not in (1, channels):
        raise ValueError(f"{name} needs 1 or {channels} values (one per channel), got {t.numel()}")
    return t.expand(channels).reshape(1, channels, 1, 1)


def normalize(x: torch.Tensor, mean: float | Sequence[float],
              std: float | Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per channel, for floats in [0, 1] (torchvision's ``Normalize``)."""
    check_batch(x)
    m = _per_channel(mean, x.shape[1], "mean").to(x.device, x.dtype)
    s = _per_channel(std, x.shape[1], "std").to(x.device, x.dtype)
    if (s <= 0).any():
        raise ValueError(f"std must be positive, got {std}")
    return (x - m) / s


def pixel_affine(mean: float | Sequence[float] | None, std: float | Sequence[float] | None,
                 channels: int, device: torch.device | str = "cpu"
                 ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(scale, shift)``, each ``(1, C, 1, 1)`` float32, with ``pixel * scale + shift``
    equal to ``(pixel / 255 - mean) / std``; ``(None, None)`` without normalisation.

    Folding ToTensor's /255 and Normalize into one multiply-add lets the loader make
    the float batch in a single conversion plus one fused pass. ``mean``/``std`` are in
    [0, 1] units, as for torchvision's ``Normalize``; both None means plain /255.
    """
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither (plain scaling to [0, 1])")
    if mean is None:
        return None, None
    m = _per_channel(mean, channels, "mean").double()
    s = _per_channel(std, channels, "std").double()
    if (s <= 0).any():
        raise ValueError(f"std must be positive, got {std}")
    return (1.0 / (255.0 * s)).float().to(device), (-m / s).float().to(device)


def apply_pixel_affine(x: torch.Tensor, scale: torch.Tensor | None,
                       shift: torch.Tensor | None, *, dtype: torch.dtype = torch.float32,
                       channels_last: bool = False) -> torch.Tensor:
    """0..255 pixels (uint8 or float) -> ``x * scale + shift`` as ``dtype``, a new tensor.

    ``scale`` None means plain ``x / 255``, bit for bit what ``ToTensor`` gives.
    The memory format is fixed first, while the batch is still uint8 (a quarter of
    the bytes of float32); the conversion and the in-place arithmetic preserve it.
    The arithmetic is float32, then one cast when ``dtype`` is narrower, so a bfloat16
    batch equals the float32 batch rounded once.
    """
    check_batch(x)
    if not dtype.is_floating_point:
        raise TypeError(f"output dtype must be floating (float32, bfloat16, ...), got {dtype}")
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    # A fresh float32 tensor; a float32 input would otherwise be returned as is and
    # the in-place ops below would write into the caller's data.
    y = x.to(torch.float32, copy=True)
    if scale is None:
        y.div_(255.0)
    else:
        y.mul_(scale).add_(shift)
    return y if dtype == torch.float32 else y.to(dtype)


def to_float(x: torch.Tensor, mean: float | Sequence[float] | None = None,
             std: float | Sequence[float] | None = None, *, dtype: torch.dtype = torch.float32,
             channels_last: bool = False) -> torch.Tensor:
    """0..255 pixels -> model input: ``(x / 255 - mean) / std`` in ``dtype``.

    Equivalent to torchvision's ``ToTensor`` then ``Normalize(mean, std)``, batched.
    """
    check_batch(x)
    scale, shift = pixel_affine(mean, std, x.shape[1], x.device)
    return apply_pixel_affine(x, scale, shift, dtype=dtype, channels_last=channels_last)
