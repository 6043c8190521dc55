"""Tests from hand mutation testing (mutation18) of image decoding: a large image's
shrink before the fit averages only what stands for colours."""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnlab.data.image_file import decode_image, fit_image, read_image


def test_a_large_image_with_a_transparent_grey_is_not_averaged_with_it(tmp_path):
    # A grey PNG whose level 0 means "transparent" (tRNS): averaging boxes of pixels
    # before it is read as transparent mixed the hidden level into the visible one.
    stripes = np.zeros((1200, 1200), np.uint8)
    stripes[:, 1::2] = 100
    path = tmp_path / "stripes.png"
    Image.fromarray(stripes).save(path, transparency=0)
    whole = fit_image(read_image(path, 1), (8, 8)).astype(int)
    assert np.abs(decode_image(path, (8, 8), 1).astype(int) - whole).max() <= 2
