"""Batched per-sample augmentation ops, checked against plain PyTorch / torchvision / PIL."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import functional as TF

from cnnlab.data import augment as A
from cnnlab.data.augment import Augment


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def u8(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen(seed))


# ----------------------------------------------------------------------------- Augment


@pytest.mark.parametrize("kwargs, word", [
    (dict(crop_padding=-1), "crop_padding"),
    (dict(pad_mode="edge"), "pad_mode"),
    (dict(flip=True, flip_mode="sometimes"), "flip_mode"),
    (dict(erase_prob=1.5), "erase_prob"),
    (dict(erase_scale=(0.5, 0.1)), "erase_scale"),
    (dict(erase_ratio=(0.0, 1.0)), "erase_ratio"),
])
def test_augment_rejects_bad_settings(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Augment(**kwargs)


def test_augment_flags():
    assert not Augment().enabled
    assert Augment(flip=True).geometric and Augment(crop_padding=2).geometric
    assert Augment(erase_prob=0.5).enabled and not Augment(erase_prob=0.5).geometric


# ----------------------------------------------------------------------------- crop


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
def test_random_crop_is_a_window_of_the_padded_image(pad_mode):
    x, p = u8(32, 2, 7, 9), 3
    out = A.random_crop(x, p, gen(5), pad_mode=pad_mode)
    offsets = A.sample_crop_offsets(32, p, gen(5))  # replay the same draws
    assert offsets.min() >= 0 and offsets.max() <= 2 * p
    assert len({tuple(o) for o in offsets.tolist()}) > 1, "every sample got the same offset"
    padded = F.pad(x, (p, p, p, p), mode="constant" if pad_mode == "zeros" else "reflect")
    for n, (dy, dx) in enumerate(offsets.tolist()):
        assert torch.equal(out[n], padded[n, :, dy:dy + 7, dx:dx + 9]), f"sample {n}"


def test_crop_at_centre_offset_is_identity_and_flip_folds_in():
    x, p = u8(6, 3, 8, 8), 2
    centre = torch.full((6, 2), p)
    assert torch.equal(A.crop(x, centre, p), x)
    offsets = A.sample_crop_offsets(6, p, gen(1))
    flips = torch.tensor([True, False, True, True, False, False])
    fused = A.crop(x, offsets, p, flip=flips)
    assert torch.equal(fused, A.hflip(A.crop(x, offsets, p), flips))


def test_crop_rejects_reflect_padding_larger_than_image():
    with pytest.raises(ValueError, match="reflect padding"):
        A.crop(u8(2, 1, 4, 4), torch.zeros(2, 2, dtype=torch.long), 4, pad_mode="reflect")


@pytest.mark.parametrize("dy, dx", [(1, 1), (-1, -1), (2, -1), (0, 3), (-2, 0)])
def test_translate_is_the_crop_at_one_fixed_offset(dy, dx):
    x, p = u8(4, 3, 8, 9), 3
    offsets = torch.tensor([[p - dy, p - dx]]).expand(4, 2)
    assert torch.equal(A.translate(x, dy, dx), A.crop(x, offsets, p))


def test_translate_of_normalised_images_fills_with_black_as_training_pads():
    # Shifting after normalisation with the per-channel "black" value gives exactly what
    # normalising the zero-padded uint8 shift gives: what a training crop produces.
    x = u8(5, 3, 7, 7)
    mean, std = [0.2, 0.5, 0.7], [0.3, 0.25, 0.2]
    black = torch.tensor([-m / s for m, s in zip(mean, std, strict=True)]).view(1, 3, 1, 1)
    shifted_then_normalised = A.to_float(A.translate(x, -2, 1), mean, std)
    normalised_then_shifted = A.translate(A.to_float(x, mean, std), -2, 1, black)
    torch.testing.assert_close(normalised_then_shifted, shifted_then_normalised)
    cl = A.to_float(x, mean, std, channels_last=True)
    assert A.translate(cl, 1, 1, black).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="leaves nothing"):
        A.translate(x, 7, 0)


# ----------------------------------------------------------------------------- flip


def test_hflip_is_an_exact_mirror_of_the_chosen_samples():
    x = u8(1000, 1, 3, 5)
    out = A.random_hflip(x, gen(2))
    flips = A.sample_flips(1000, gen(2))
    assert 400 < int(flips.sum()) < 600  # p = 0.5, independently per sample
    assert torch.equal(out[flips], x[flips].flip(-1))
    assert torch.equal(out[~flips], x[~flips])
    assert torch.equal(A.hflip(A.hflip(x)), x)
    assert torch.equal(A.hflip(x)[..., 0], x[..., -1])


# ----------------------------------------------------------------------------- erase


def test_erase_touches_exactly_one_rectangle_per_erased_sample():
    x = torch.rand(64, 3, 20, 24, generator=gen(3)) + 1.0  # no pixel equals the fill value
    out = A.random_erase(x, gen(4), p=0.5, value=0.0)
    boxes = A.sample_erase_boxes(64, 20, 24, gen(4), p=0.5)
    changed = (out != x).any(dim=1)  # (N, H, W)
    assert torch.equal(changed, (out == 0).all(dim=1)), "changed pixels are not the fill value"
    erased = changed.flatten(1).any(1)
    assert 16 < int(erased.sum()) < 48
    for n in range(64):
        rows, cols = changed[n].any(1), changed[n].any(0)
        assert torch.equal(changed[n], rows[:, None] & cols[None, :]), f"sample {n} not a box"
        top, left, h, w = boxes[n].tolist()
        assert int(rows.sum()) == h and int(cols.sum()) == w
        if h:
            assert rows[top] and cols[left] and top + h <= 20 and left + w <= 24


def test_erase_box_area_follows_scale():
    boxes = A.sample_erase_boxes(2000, 32, 32, gen(6), p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0))
    area = (boxes[:, 2] * boxes[:, 3]).float() / (32 * 32)
    assert (boxes[:, 2] >= 1).all() and (boxes[:, 3] >= 1).all()
    assert 0.05 < area.min() and area.max() < 0.3  # rounding to whole pixels widens the range
    assert abs(area.mean().item() - 0.15) < 0.01


def test_erase_needs_float_and_leaves_input_alone():
    with pytest.raises(TypeError, match="float"):
        A.erase(u8(2, 1, 4, 4), torch.tensor([[0, 0, 2, 2]] * 2))
    x = torch.ones(2, 1, 4, 4)
    out = A.erase(x, torch.tensor([[1, 1, 2, 2], [0, 0, 0, 0]]), value=-3.0)
    assert x.eq(1).all()
    assert out[0, 0, 1:3, 1:3].eq(-3).all() and out.eq(-3).sum() == 4


# ----------------------------------------------------------------------------- resize


@pytest.mark.parametrize("size, shrinking", [
    (40, False), ((13, 11), True), ((50, 20), True), ((50, 31), False),
])
def test_float_resize_equals_interpolate(size, shrinking):
    x = torch.rand(4, 3, 28, 28, generator=gen(7))
    out = A.resize(x, size)
    hw = (size, size) if isinstance(size, int) else size
    ref = F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=shrinking)
    assert out.shape == (4, 3, *hw) and out.dtype == torch.float32 and out.device == x.device
    assert torch.equal(out, ref)


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_resize_reproduces_pil_when_enlarging(channels):
    """The book's pipeline resizes PIL images; the cache must hold the same pixels."""
    x = u8(5, channels, 28, 28, seed=channels)
    out = A.resize(x, 96)
    assert out.dtype == torch.uint8 and out.shape == (5, channels, 96, 96)
    for n in range(5):
        img = Image.fromarray(x[n, 0].numpy() if channels == 1 else x[n].permute(1, 2, 0).numpy())
        ref = TF.pil_to_tensor(TF.resize(img, [96, 96]))
        assert torch.equal(out[n], ref)
    shrunk = A.resize(x, 13)
    ref = F.interpolate(x.float(), size=(13, 13), mode="bilinear", antialias=True)
    assert (shrunk.float() - ref).abs().max() <= 1.0  # rounding only


@pytest.mark.parametrize("n_in, n_out", [(28, 96), (28, 13), (10, 10), (7, 20)])
def test_interpolation_matrix_is_the_same_filter(n_in, n_out):
    m = A.interpolation_matrix(n_in, n_out)
    assert m.shape == (n_out, n_in)
    assert torch.allclose(m.sum(1), torch.ones(n_out), atol=1e-6)
    x = torch.rand(3, 2, n_in, n_in + 3, generator=gen(9)) * 255
    cols = A.interpolation_matrix(n_in + 3, n_out + 1)
    out = A.resize_with_matrices(x, m, cols)
    assert torch.allclose(out, A.resize(x, (n_out, n_out + 1)), atol=1e-3, rtol=0)


def test_resize_same_size_is_a_no_op_and_rejects_bad_input():
    x = u8(2, 1, 6, 6)
    assert A.resize(x, 6) is x
    with pytest.raises(ValueError, match="size"):
        A.resize(x, 0)
    with pytest.raises(TypeError, match="uint8 or floating"):
        A.resize(x.int(), 8)


# ----------------------------------------------------------------------------- normalise


def test_to_float_equals_totensor_then_normalize():
    x = u8(6, 3, 5, 7)
    mean, std = (0.2, 0.5, 0.7), (0.3, 0.25, 0.1)
    out = A.to_float(x, mean, std)
    ref = TF.normalize(x.float() / 255, list(mean), list(std))
    assert out.dtype == torch.float32 and torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(A.normalize(x.float() / 255, mean, std), ref, atol=1e-6)
    assert torch.equal(A.to_float(x), x.float() / 255)  # bit for bit ToTensor


def test_normalising_with_the_data_statistics_gives_zero_mean_unit_std():
    x = (torch.rand(64, 2, 8, 8, generator=gen(8)) * torch.tensor([120.0, 255.0]).view(1, 2, 1, 1))
    x = x.round().to(torch.uint8)
    pixels = x.float() / 255
    mean, std = pixels.mean(dim=(0, 2, 3)).tolist(), pixels.std(dim=(0, 2, 3)).tolist()
    out = A.to_float(x, mean, std)
    assert torch.allclose(out.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4)
    assert torch.allclose(out.std(dim=(0, 2, 3)), torch.ones(2), atol=1e-4)


def test_to_float_channels_last_and_bfloat16():
    x = u8(4, 3, 6, 6)
    out = A.to_float(x, 0.5, 0.25, channels_last=True)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert not A.to_float(x, 0.5, 0.25).is_contiguous(memory_format=torch.channels_last)
    bf = A.to_float(x, 0.5, 0.25, dtype=torch.bfloat16, channels_last=True)
    assert bf.dtype == torch.bfloat16 and bf.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(bf, out.to(torch.bfloat16))  # one rounding from float32


def test_to_float_never_writes_into_a_float_input():
    x = torch.full((1, 1, 2, 2), 255.0)
    A.to_float(x)
    assert x.eq(255).all()


@pytest.mark.parametrize("mean, std, word", [
    (0.5, None, "both"), (0.5, 0.0, "positive"), ((0.1, 0.2), (0.3, 0.3), "one per channel"),
])
def test_pixel_affine_errors(mean, std, word):
    with pytest.raises(ValueError, match=word):
        A.pixel_affine(mean, std, channels=3)
    with pytest.raises(TypeError, match="floating"):
        A.to_float(u8(1, 1, 2, 2), dtype=torch.int32)


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
def test_crop_keeps_the_memory_format_and_the_pixels(pad_mode):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 8, 8, generator=g)
    offsets = A.sample_crop_offsets(4, 2, g, x.device)
    plain = A.crop(x, offsets, 2, pad_mode=pad_mode)
    cl = A.crop(x.contiguous(memory_format=torch.channels_last), offsets, 2, pad_mode=pad_mode)
    assert cl.is_contiguous(memory_format=torch.channels_last) and plain.is_contiguous()
    assert torch.equal(cl, plain)
