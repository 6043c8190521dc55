"""One image file's pixels: cases that hand mutation testing of cnnlab.data.image_file
found untested (session 38, mutation14)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_predict_photos import photo

from cnnlab.data.image_file import decode_image, fit_image, read_image


@pytest.mark.parametrize("orientation", [5, 7])
def test_a_large_photo_transposed_by_its_exif_decodes_as_at_full_size(tmp_path, orientation):
    # EXIF 5 and 7 (mirrored, then turned a quarter) swap height and width as 6 and 8 do:
    # the shrink before the cut must swap them too, or it keeps the wrong part.
    path = tmp_path / "transposed.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo(1200, 1600).save(path, exif=exif)
    whole = fit_image(read_image(path, 1), (40, 24)).astype(int)
    shrunk_first = decode_image(path, (40, 24), 1).astype(int)
    assert np.abs(shrunk_first - whole).mean() < 2 and np.abs(shrunk_first - whole).max() <= 12


def test_a_palette_pngs_transparent_colour_is_white(tmp_path):
    # A GIF-style palette with one index marked transparent ("transparency" in info, no
    # alpha band): its pixels are the background, not the black they store.
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 1)
    image.save(tmp_path / "icon.png", transparency=0)
    pixels = decode_image(tmp_path / "icon.png", (4, 4), 3)
    assert (pixels[:, 2:, 2:] == 255).all()  # transparent: white


def test_a_float_image_of_0_to_1_reaching_1_is_scaled_and_rounded(tmp_path):
    # Exactly 1.0 is the top of a 0..1 image (read as 0..255 the picture was black), and
    # 0.504 is 128.52 grey levels: rounded to 129, not cut to 128.
    array = np.full((4, 4), 0.504, np.float32)
    array[0, 0] = 1.0
    Image.fromarray(array, "F").save(tmp_path / "float.tif")
    pixels = decode_image(tmp_path / "float.tif", (4, 4), 1)
    assert pixels[0, 0, 0] == 255 and (pixels[0].ravel()[1:] == 129).all()


def test_a_url_given_as_an_image_is_said_to_be_one():
    # Path("https://example.com/a.jpg") keeps one slash of the two: the check must too.
    with pytest.raises(FileNotFoundError, match="not URLs: download it first"):
        read_image("https://example.com/a.jpg", 3)


def test_a_16_bit_image_of_8_bit_values_up_to_255_keeps_them(tmp_path):
    # 255 is still an 8-bit value: shifted as 12-bit, the picture came out 16 times darker.
    array = np.full((4, 4), 255, np.uint16)
    array[0, 0] = 0
    Image.fromarray(array).save(tmp_path / "grey16.png")  # uint16: mode I;16
    pixels = decode_image(tmp_path / "grey16.png", (4, 4), 1)
    assert pixels[0, 0, 0] == 0 and pixels[0, 3, 3] == 255
