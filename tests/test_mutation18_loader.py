"""Tests from hand mutation testing (mutation18) of the loader's resize cache."""

from __future__ import annotations

import torch

from cnnlab.data.loader import resize_dataset
from cnnlab.data.pixels import resize


def test_the_resize_cache_resizes_every_chunk():
    # The cache is made chunk by chunk (8192 images at a time): a chunk left out stays
    # torch.empty's garbage, trained on as images. Small chunks show it on 5 images.
    images = torch.randint(0, 256, (5, 1, 6, 10), dtype=torch.uint8)
    for chunk in (1, 2, 3, 5, 8):
        assert torch.equal(resize_dataset(images, (9, 4), chunk=chunk),
                           resize(images, (9, 4)))
