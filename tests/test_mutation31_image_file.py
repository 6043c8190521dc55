"""Gaps left by mutation14 in cnnlab/data/image_file.py: a large JPEG decoded smaller
when it is only to be classified small, but never below SHRINK_MARGIN times that size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import image_file


@pytest.mark.parametrize(("side", "decoded"), [(1600, 200), (640, 160)])
def test_decode_image_decodes_a_large_jpeg_at_a_fraction_of_its_size(tmp_path, monkeypatch,
                                                                     side, decoded):
    # JPEG decodes at 1/2, 1/4 or 1/8: the smallest of these at least 4 * 28 = 112 pixels
    # (1600 / 8 = 200; 640 / 8 = 80 is too small, 640 / 4 = 160 is not).
    path = tmp_path / "big.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (side, side), dtype=np.uint8)).save(path)
    seen = []
    real = image_file._warn_if_very_large
    monkeypatch.setattr(image_file, "_warn_if_very_large",
                        lambda p, image: (seen.append(image.size), real(p, image))[1])
    assert image_file.decode_image(path, (28, 28), 1).shape == (1, 28, 28)
    assert seen == [(decoded, decoded)]


def test_a_wide_shape_keeps_the_margin_over_its_longer_side():
    # (height 32, width 128): the part kept is shrunk no further than 4 * 128 = 512 on its
    # shorter side; 512 already, so it is left as it is (4 * 32 would have allowed 1/4).
    image = Image.new("L", (2048, 512), 100)
    assert image_file.shrunk(image, (32, 128)).size == (2048, 512)
    assert image_file.shrunk(Image.new("L", (4096, 1024), 100), (32, 128)).size == (2048, 512)


def test_a_large_image_with_a_transparent_colour_is_not_averaged_before_its_background(
        tmp_path):
    # Every other pixel is the colour that stands for transparent: on white it is all
    # white. Averaged first, the boxes were grey and matched the colour no more.
    checker = np.indices((1024, 1024)).sum(axis=0) % 2 == 0
    pixels = np.where(checker[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    path = tmp_path / "keyed.png"
    Image.fromarray(pixels, "RGB").save(path, transparency=(0, 0, 0))
    out = image_file.decode_image(path, (28, 28), 1)
    assert out.min() >= 250, out.min()
