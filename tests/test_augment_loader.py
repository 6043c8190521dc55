"""Augmentation as the training loader applies it: the parameters it draws, its output
dtypes and layouts, and the splits it leaves alone."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data import loader as loader_module
from cnnlab.data.augment import Augment, crop, to_float
from cnnlab.data.loader import DeviceLoader


def dataset(n: int, c: int = 1, h: int = 6, w: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=g), torch.arange(n)


def test_the_loaders_crop_offsets_cover_every_shift_evenly_and_flip_half(monkeypatch):
    drawn = []

    def recording_crop(x, offsets, padding, **kw):
        drawn.append((offsets.clone(), kw["flip"].clone()))
        return crop(x, offsets, padding, **kw)

    monkeypatch.setattr(loader_module, "crop", recording_crop)
    p = 2
    loader = DeviceLoader(*dataset(5000, h=5, w=5), 500, seed=3,
                          augment=Augment(crop_padding=p, flip=True))
    for _ in range(3):
        for _ in loader:
            pass
    offsets = torch.cat([o for o, _ in drawn])
    flips = torch.cat([f for _, f in drawn])
    assert len(offsets) == 15_000
    side = 2 * p + 1
    counts = torch.bincount(offsets[:, 0] * side + offsets[:, 1], minlength=side * side).float()
    assert counts.numel() == side * side
    expected = counts.sum() / counts.numel()
    assert ((counts - expected) ** 2 / expected).sum() < 70  # 24 dof: odds under 1e-6
    assert abs(flips.float().mean().item() - 0.5) < 0.025  # 6 standard errors
    # Each batch and epoch draws its own: no two batches repeat their offsets.
    assert len({tuple(o.flatten().tolist()) for o, _ in drawn}) == len(drawn)


@pytest.mark.parametrize("resize", [None, 11])
def test_bfloat16_channels_last_batches_are_the_float32_batches_rounded_once(resize):
    images, labels = dataset(40, c=3, h=7, w=9)
    aug = Augment(crop_padding=2, pad_mode="reflect", flip=True, erase_prob=0.5)
    kw = dict(seed=5, augment=aug, resize=resize, mean=[0.4, 0.5, 0.6], std=[0.2, 0.3, 0.25])
    plain = list(DeviceLoader(images, labels, 16, **kw))
    narrow = list(DeviceLoader(images, labels, 16, dtype=torch.bfloat16, channels_last=True,
                               **kw))
    for (x32, y32), (x16, y16) in zip(plain, narrow, strict=True):
        assert x16.dtype == torch.bfloat16 and x16.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(y16, y32) and torch.equal(x16, x32.to(torch.bfloat16))


def test_a_batch_of_one_and_a_single_channel_non_square_image_augment():
    images, labels = dataset(1, c=1, h=3, w=8)
    aug = Augment(crop_padding=2, flip=True, erase_prob=1.0, erase_value=-5.0)
    [(x, y)] = list(DeviceLoader(images, labels, 4, augment=aug))
    assert x.shape == (1, 1, 3, 8) and y.tolist() == [0]


def test_nothing_augments_the_test_split():
    from cnnlab.train import TrainConfig
    from cnnlab.train.distributed import DistInfo
    from cnnlab.train.evaluate import Preprocess
    from cnnlab.train.run_data import make_loader

    images, labels = dataset(24, c=1, h=8, w=8)
    cfg = TrainConfig(model="lenet_modern", batch_size=8, crop_padding=2, flip=True,
                      erase_prob=1.0)
    pp = Preprocess(1, 8, [0.5], [0.25])

    def first_batch(train: bool):
        loader = make_loader(cfg, pp, images, labels, train=train, device=torch.device("cpu"),
                             dist=DistInfo())
        return loader, next(iter(loader))

    test_loader, (x, y) = first_batch(train=False)
    assert test_loader.augment is None
    assert torch.equal(x, to_float(images[y], [0.5], [0.25]))
    train_loader, (x, y) = first_batch(train=True)
    assert train_loader.augment == Augment(crop_padding=2, flip=True, erase_prob=1.0)
    assert not torch.equal(x, to_float(images[y], [0.5], [0.25]))
