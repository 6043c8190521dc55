"""A small, learnable synthetic dataset for tests and smoke runs (no files, no network).

Each class is a fixed random 'prototype' image; samples are the prototype plus
noise, so a small CNN separates them within an epoch or two. The same seed gives
the same data on every machine.
"""

from __future__ import annotations

import torch

from cnnlab.data.dataset import DatasetSplits, ImageData


def make_synthetic(
    num_train: int = 512,
    num_test: int = 128,
    num_classes: int = 10,
    image_size: int = 28,
    channels: int = 1,
    noise: float = 60.0,
    seed: int = 0,
) -> DatasetSplits:
    gen = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(num_classes, channels, image_size, image_size, generator=gen) * 255

    def split(n: int) -> ImageData:
        labels = torch.arange(n) % num_classes
        labels = labels[torch.randperm(n, generator=gen)]
        noisy = prototypes[labels] + noise * torch.randn(
            n, channels, image_size, image_size, generator=gen
        )
        return ImageData(noisy.clamp(0, 255).round().to(torch.uint8), labels.long())

    return DatasetSplits(
        name="synthetic",
        train=split(num_train),
        test=split(num_test),
        classes=[f"class{i}" for i in range(num_classes)],
        source=f"generated (seed {seed})",
    )
