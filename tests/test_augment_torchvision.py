"""Each batched op in cnnlab.data.augment, given its per-sample parameters, is the
per-image torchvision.transforms.v2.functional op with those parameters, image by image."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from cnnlab.data import augment as A

CL = torch.channels_last
# 1 and 3 channels, square and not, a batch of one, an image smaller than its padding.
SHAPES = [(5, 1, 6, 6), (4, 3, 5, 9), (1, 3, 7, 4), (3, 1, 2, 3)]
DTYPES = [torch.uint8, torch.float32, torch.bfloat16]


def batch(shape: tuple[int, ...], dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)
    return x if dtype == torch.uint8 else (x.float() / 255).to(dtype)


def layouts(x: torch.Tensor) -> list[torch.Tensor]:
    return [x, x.contiguous(memory_format=CL)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pad_mode, tv_mode", [("zeros", "constant"), ("reflect", "reflect")])
def test_crop_and_flip_are_torchvisions_pad_crop_and_flip(shape, dtype, pad_mode, tv_mode):
    n, _, h, w = shape
    p = 2 if pad_mode == "zeros" else min(h, w) - 1  # reflect needs padding < image
    if p == 0:
        pytest.skip("no reflect padding fits a 1-pixel side")
    x = batch(shape, dtype)
    g = torch.Generator().manual_seed(1)
    offsets = A.sample_crop_offsets(n, p, g)
    flips = A.sample_flips(n, g)
    for xi in layouts(x):
        out = A.crop(xi, offsets, p, pad_mode=pad_mode, flip=flips)
        assert out.dtype == dtype and out.shape == x.shape
        assert out.is_contiguous(memory_format=CL) == xi.is_contiguous(memory_format=CL)
        for i in range(n):
            # RandomCrop(size, padding=p, fill=0, padding_mode=...) then a flip, by hand.
            padded = TF.pad(x[i], [p], fill=0, padding_mode=tv_mode)
            ref = TF.crop(padded, int(offsets[i, 0]), int(offsets[i, 1]), h, w)
            if flips[i]:
                ref = TF.horizontal_flip(ref)
            assert torch.equal(out[i], ref), f"sample {i}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_hflip_is_torchvisions_horizontal_flip(dtype):
    x = batch((6, 3, 4, 7), dtype)
    mask = torch.tensor([True, False, False, True, True, False])
    for xi in layouts(x):
        out = A.hflip(xi, mask)
        assert out.is_contiguous(memory_format=CL) == xi.is_contiguous(memory_format=CL)
        for i in range(6):
            assert torch.equal(out[i], TF.horizontal_flip(x[i]) if mask[i] else x[i])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dy, dx", [(1, 2), (-2, 1), (0, -3), (3, 0)])
def test_translate_is_torchvisions_integer_affine_shift(dtype, dy, dx):
    x = batch((3, 3, 7, 9), dtype)
    for xi in layouts(x):
        out = A.translate(xi, dy, dx)
        for i in range(3):
            # In float32, then rounded: torchvision before 0.21 has no bfloat16 grid_sample
            # on the CPU, and a whole-pixel shift moves values without changing them.
            ref = TF.affine(x[i].float(), angle=0.0, translate=[dx, dy], scale=1.0,
                            shear=[0.0, 0.0], fill=0).to(dtype)
            assert torch.equal(out[i], ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_erase_is_torchvisions_erase(dtype):
    x = batch((4, 3, 10, 12), dtype)
    boxes = torch.tensor([[1, 2, 3, 4], [0, 0, 9, 11], [5, 5, 0, 0], [9, 11, 1, 1]])
    for xi in layouts(x):
        out = A.erase(xi, boxes, 0.7)
        assert out.is_contiguous(memory_format=CL) == xi.is_contiguous(memory_format=CL)
        for i, (top, left, h, w) in enumerate(boxes.tolist()):
            ref = TF.erase(x[i], top, left, h, w, torch.tensor(0.7, dtype=dtype))
            assert torch.equal(out[i], ref), f"sample {i}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels", [1, 3])
def test_normalize_is_torchvisions_normalize(dtype, channels):
    x = batch((2, channels, 5, 4), dtype)
    mean, std = [0.1, 0.2, 0.3][:channels], [0.3, 0.2, 0.1][:channels]
    assert torch.equal(A.normalize(x, mean, std), TF.normalize(x, mean, std))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_to_float_is_to_dtype_then_normalize(dtype):
    x = batch((3, 3, 5, 6), torch.uint8)
    mean, std = [0.2, 0.5, 0.7], [0.3, 0.25, 0.1]
    ref = TF.normalize(TF.to_dtype(x, torch.float32, scale=True), mean, std)
    for channels_last in (False, True):
        out = A.to_float(x, mean, std, dtype=dtype, channels_last=channels_last)
        assert out.dtype == dtype and out.is_contiguous(memory_format=CL) == channels_last
        # float32 differs by rounding only (one multiply-add, not /255, -mean, /std).
        tol = 2e-6 if dtype == torch.float32 else 0.04
        torch.testing.assert_close(out.float(), ref.to(dtype).float(), atol=tol, rtol=0)


@pytest.mark.parametrize("size_in, size_out", [
    ((28, 28), (96, 96)), ((28, 28), (13, 13)), ((7, 9), (20, 11)), ((10, 6), (4, 12)),
])
@pytest.mark.parametrize("channels", [1, 3])
def test_resize_is_torchvisions_antialiased_bilinear_resize(size_in, size_out, channels):
    x = batch((3, channels, *size_in), torch.uint8)
    for xi in layouts(x):  # uint8 on CPU: the same fixed-point kernel, so equal
        out = A.resize(xi, size_out)
        for i in range(3):
            assert torch.equal(out[i], TF.resize(x[i], list(size_out), antialias=True))
    xf = x.float() / 255
    out = A.resize(xf, size_out)
    for i in range(3):  # floats: enlarging skips the antialias filter, equal up to rounding
        ref = TF.resize(xf[i], list(size_out), antialias=True)
        torch.testing.assert_close(out[i], ref, atol=2e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("size", [20, 5, (3, 14)])
def test_resize_of_half_precision_floats_is_the_float32_resize_rounded_once(dtype, size):
    # PyTorch's CPU antialiased kernel has no bfloat16/float16 version: shrinking one
    # failed with "compute_index_ranges_weights not implemented for 'BFloat16'".
    x = batch((2, 3, 9, 7), torch.float32)
    out = A.resize(x.to(dtype), size)
    assert out.dtype == dtype
    assert torch.equal(out, A.resize(x.to(dtype).float(), size).to(dtype))
