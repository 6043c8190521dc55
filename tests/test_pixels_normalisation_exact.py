"""Pixel normalisation: constants as exact as float32 holds, and std 0 refused by every
entry point (mutation7, s36)."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data.pixels import normalize, pixel_affine, resize, to_float


def test_the_folded_scale_and_shift_are_the_nearest_float32_values():
    # Folding /255 and Normalize into one multiply-add: computed in float32, 1 / (255 * std)
    # is rounded twice and lands one ulp off for about a quarter of the stds below.
    g = torch.Generator().manual_seed(0)
    mean = torch.rand(64, generator=g)
    std = torch.rand(64, generator=g) * 0.9 + 0.05
    scale, shift = pixel_affine(mean.tolist(), std.tolist(), 64)
    exact_scale = (1.0 / (255.0 * std.double())).float()
    exact_shift = (-mean.double() / std.double()).float()
    assert torch.equal(scale.flatten(), exact_scale)
    assert torch.equal(shift.flatten(), exact_shift)


@pytest.mark.parametrize("std", [0.0, [0.5, 0.0, 0.5], -0.1])
def test_normalize_refuses_a_std_that_is_not_positive_by_name(std):
    x = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError, match="std must be positive"):
        normalize(x, 0.5, std)


@pytest.mark.parametrize("op", [lambda x: resize(x, 4), lambda x: to_float(x),
                                lambda x: normalize(x.float(), 0.5, 0.5)])
def test_one_image_without_its_batch_dim_is_refused_with_the_fix(op):
    with pytest.raises(ValueError, match="expected a batch N x C x H x W.*unsqueeze"):
        op(torch.zeros(1, 8, 8, dtype=torch.uint8))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("size", [5, (5, 12), 16])
def test_half_precision_resize_is_the_float32_resize_rounded_once(dtype, size):
    # Shrinking is antialiased as in float32 (a plain bilinear kernel alias-samples).
    x = (torch.rand(2, 3, 11, 9) * 4).to(dtype)
    assert torch.equal(resize(x, size), resize(x.float(), size).to(dtype))
