"""A PNG that records its orientation twice (EXIF and XMP, as exiftool and Adobe's apps
write it) is cut to the right part once turned. Pillow 9.4, our floor, took the tag out
of the EXIF alone, so the turned image still read as turned a quarter and the shrunk
read cut a non-square target the wrong way round (mean error 28 of 255)."""

import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from cnnlab.data import image_file
from cnnlab.data.image_file import decode_image, fit_image, read_image
from cnnlab.train.evaluate import Preprocess
from cnnlab.train.predict import _image_pixels

XMP_TURNED = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
              '1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/'
              'tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
SIZE = (40, 24)  # a folder's (height, width): the cut's shape depends on the turn


def picture() -> Image.Image:
    """1600 x 1200, dark on the left, light on the right: a cut the wrong way shows."""
    y, x = np.mgrid[0:1200, 0:1600]
    grey = (x / 1600 * 200 + y / 1200 * 55).astype(np.uint8)
    return Image.fromarray(np.stack([grey, grey[::-1], 255 - grey], axis=-1))


def turned_png(path, mode: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    xmp = PngImagePlugin.PngInfo()
    xmp.add_itxt("XML:com.adobe.xmp", XMP_TURNED)
    image = picture() if mode == "RGB" else picture().quantize(64)
    image.save(path, exif=exif.tobytes(), pnginfo=xmp)


@pytest.fixture
def as_pillow_9_4(monkeypatch):
    """exif_transpose as Pillow 9.4's: the XMP's orientation left in the turned image."""
    real = ImageOps.exif_transpose

    def leaves_the_xmp(image, **kwargs):
        turned = real(image, **kwargs)
        if "XML:com.adobe.xmp" in image.info:
            turned.info["XML:com.adobe.xmp"] = image.info["XML:com.adobe.xmp"]
        return turned

    monkeypatch.setattr(image_file.ImageOps, "exif_transpose", leaves_the_xmp)


def test_a_png_turned_by_exif_and_xmp_decodes_as_at_full_size(tmp_path):
    # With the installed Pillow: fails before the fix on Pillow 9.4 only.
    turned_png(tmp_path / "both.png", "P")  # a palette: shrunk once upright, not before
    before = fit_image(read_image(tmp_path / "both.png", 3), SIZE).astype(int)
    after = decode_image(tmp_path / "both.png", SIZE, 3).astype(int)
    assert np.abs(after - before).mean() < 2


@pytest.mark.usefixtures("as_pillow_9_4")
@pytest.mark.parametrize("mode", ["P", "RGB"])
def test_an_upright_image_is_not_turned_again_when_shrunk(tmp_path, mode):
    path = tmp_path / "both.png"
    turned_png(path, mode)
    before = fit_image(read_image(path, 3), SIZE).astype(int)
    assert before.shape == (3, *SIZE)
    if mode == "P":  # a file read
        after = decode_image(path, SIZE, 3).astype(int)
    else:  # an Image given to predict_image, for a run of a folder decoded at SIZE
        pp = Preprocess(channels=3, image_size=24, mean=None, std=None)
        with Image.open(path) as image:
            image.load()
            pixels = _image_pixels(image, pp, fit=True, decoded=SIZE)
        whole = _image_pixels(Image.fromarray(before.transpose(1, 2, 0).astype(np.uint8)),
                              pp, fit=True, decoded=SIZE)
        after, before = pixels.numpy().astype(int), whole.numpy().astype(int)
    assert np.abs(after - before).mean() < 2
