"""A large photo turned a quarter by its EXIF orientation (a phone held upright) is
shrunk to the part that is kept once it is turned: a non-square target's height and width
swap before the cut. Without the swap the cut took the wrong part (mean error 75 of 255)."""

import numpy as np
import pytest
from PIL import Image
from test_predict_photos import photo

from cnnlab.data.image_file import decode_image, fit_image, read_image


@pytest.mark.parametrize("orientation", [6, 8, 1])
def test_a_rotated_large_png_decodes_as_at_full_size(tmp_path, orientation):
    path = tmp_path / "upright.png"
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6, 8: turned a quarter when read
    photo(1200, 1600).save(path, exif=exif)  # PNG: no reduced decode, shrunk after it
    before = fit_image(read_image(path, 1), (40, 24)).astype(int)  # read whole
    after = decode_image(path, (40, 24), 1).astype(int)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() < 2 and np.abs(after - before).max() <= 12
