"""A dataset as the last line of a notebook cell shows what it is, not its pixels."""

from __future__ import annotations

import torch

from cnnlab.data import DatasetSplits, ImageData


def _images(n, shape=(1, 28, 28)):
    return ImageData(torch.zeros((n, *shape), dtype=torch.uint8), torch.zeros(n, dtype=torch.long))


def test_dataset_repr_is_one_short_line():
    splits = DatasetSplits("fashion-mnist", _images(600), _images(100),
                           ["T-shirt/top", "Trouser"], "cache")
    assert repr(splits) == ("DatasetSplits('fashion-mnist', train=600, test=100, images "
                            "1x28x28 uint8, 2 classes: T-shirt/top, Trouser; source: cache)")
    assert repr(splits.train) == "ImageData(600 images of 1x28x28 uint8)"


def test_dataset_repr_shortens_a_long_class_list():
    classes = [f"species_{i}" for i in range(200)]
    splits = DatasetSplits("folder:/data/birds", _images(4, (3, 64, 64)), _images(2, (3, 64, 64)),
                           classes, "/data/birds")
    text = repr(splits)
    assert "species_9, ... (200 in all)" in text and "species_10" not in text
    assert len(text) < 300
