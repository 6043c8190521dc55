"""One image file, read the same way for a folder dataset and for `cnnlab predict`."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.image_file import ImageFileError, decode_image, read_image
from cnnlab.train.evaluate import Preprocess
from cnnlab.train.predict import image_to_tensor

SIZE = 8
GREY = Preprocess(channels=1, image_size=SIZE, mean=None, std=None)


def gradient(height: int = SIZE, width: int = SIZE) -> np.ndarray:
    """A uint8 image whose every pixel differs from its neighbours (catches rotations)."""
    return (np.arange(height * width).reshape(height, width) * 3 % 256).astype(np.uint8)


def write_variants(folder: Path) -> dict[str, np.ndarray]:
    """The same picture as several kinds of file, with the 8-bit pixels each should give."""
    base = gradient()
    files = {"plain.png": base}
    Image.fromarray(base).save(folder / "plain.png")
    Image.fromarray(base.astype(np.uint16) << 8).save(folder / "deep16.png")
    files["deep16.png"] = base
    Image.fromarray(base.astype(np.int32) << 8, "I").save(folder / "deep32.tif")
    files["deep32.tif"] = base
    Image.fromarray(base.astype(np.float32) / 255, "F").save(folder / "float.tif")
    files["float.tif"] = base
    # Stored rotated, with EXIF orientation 8 ("rotate 90 clockwise to view").
    rotated = Image.fromarray(np.rot90(base, k=-1).copy())
    exif = Image.Exif()
    exif[0x0112] = 8
    rotated.save(folder / "exif.png", exif=exif)
    files["exif.png"] = base
    # Transparent pixels hide black under them; they must come out white.
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[..., :3] = base[..., None]
    rgba[..., 3] = 255
    rgba[:2, :, 3] = 0
    rgba[:2, :, :3] = 0
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    files["alpha.png"] = np.where(np.arange(SIZE)[:, None] < 2, 255, base).astype(np.uint8)
    # Wider than tall: the centre square, not the whole picture squeezed.
    wide = np.zeros((SIZE, SIZE + 4), np.uint8)
    wide[:, 2:-2] = base
    Image.fromarray(wide).save(folder / "wide.png")
    files["wide.png"] = base
    return files


def test_every_kind_of_file_gives_the_picture_and_predict_sees_what_training_sees(tmp_path):
    for name, expected in write_variants(tmp_path).items():
        decoded = decode_image(tmp_path / name, (SIZE, SIZE), channels=1)
        assert np.array_equal(decoded[0], expected), name
        seen_by_predict = image_to_tensor(tmp_path / name, GREY)
        assert seen_by_predict.shape == (1, 1, SIZE, SIZE)
        assert torch.equal(seen_by_predict[0, 0], torch.from_numpy(expected).float() / 255), name


def test_predict_resizes_as_the_training_loader_does(tmp_path):
    from cnnlab.data.augment import resize, to_float

    Image.fromarray(gradient()).save(tmp_path / "small.png")
    big = Preprocess(channels=1, image_size=20, mean=[0.5], std=[0.25])
    # Resized, then scaled and normalised by the loader's own arithmetic, bit for bit.
    expected = to_float(resize(torch.from_numpy(gradient())[None, None], 20), [0.5], [0.25])
    assert torch.equal(image_to_tensor(tmp_path / "small.png", big), expected)


def test_float_images_above_one_are_taken_as_0_to_255(tmp_path):
    Image.fromarray(gradient().astype(np.float32), "F").save(tmp_path / "f255.tif")
    assert np.array_equal(np.asarray(read_image(tmp_path / "f255.tif", 1)), gradient())


def test_files_that_are_not_images_are_named_with_the_reason(tmp_path, monkeypatch):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageFileError, match="notes.png: not a readable image"):
        read_image(tmp_path / "notes.png", 1)
    with pytest.raises(ImageFileError, match="a folder, not an image file"):
        read_image(tmp_path, 1)
    (tmp_path / "cut.jpg").write_bytes(b"")  # a copy that never finished: said so
    with pytest.raises(ImageFileError, match=r"cut.jpg: an empty file \(0 bytes\)"):
        read_image(tmp_path / "cut.jpg", 1)
    with pytest.raises(FileNotFoundError, match="image not found"):
        read_image(tmp_path / "missing.png", 1)
    Image.fromarray(gradient()).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # PIL refuses at twice this
    with pytest.raises(ImageFileError, match="huge.png: too large to decode safely"):
        read_image(tmp_path / "huge.png", 1)
    # Under twice the limit PIL decodes it with a Python warning of its own, shown with its
    # source line: told in cnnlab's words instead.
    import warnings

    from cnnlab.data import DataWarning

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SIZE * SIZE - 1)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        assert read_image(tmp_path / "huge.png", 1).size == (SIZE, SIZE)
    assert [w.category for w in told] == [DataWarning]
    assert "huge.png: 0.0 megapixels, more than PIL decodes without a warning" in \
        str(told[0].message)


def test_16_and_32_bit_images_holding_8_or_12_bit_values_keep_their_range(tmp_path):
    # A 16-bit PNG ("I;16") kept only its top byte: 8-bit values came out black, 12-bit
    # ones nearly so; the same values as 32-bit ("I") were kept.
    Image.fromarray(gradient().astype(np.int32), "I").save(tmp_path / "eight.tif")
    Image.fromarray(gradient().astype(np.uint16)).save(tmp_path / "eight.png")
    Image.fromarray(gradient().astype(np.uint16) << 4).save(tmp_path / "twelve.png")
    for name in ("eight.tif", "eight.png", "twelve.png"):
        assert np.array_equal(np.asarray(read_image(tmp_path / name, 1)), gradient()), name
    assert Image.open(tmp_path / "eight.png").mode.startswith("I")


def test_predict_fits_images_for_a_run_trained_on_a_folder(tmp_path):
    """A folder run's images were decoded by a bicubic fit at the model's size: predict
    does the same for it, and the loader's resize for a Fashion-MNIST run."""
    from cnnlab.train.predict import predict_image

    photo = (np.arange(30 * 40).reshape(30, 40) % 251).astype(np.uint8)  # not square
    Image.fromarray(photo).save(tmp_path / "photo.png")
    seen = []

    class Run:
        preprocess, tta, classes = GREY, (False, 0), ["a", "b"]

        def __init__(self, data):
            self.data = data

        def model(self, x):
            seen.append(x)
            return torch.zeros(len(x), 2)

    predict_image(Run("folder:/photos"), tmp_path / "photo.png")
    predict_image(Run("fashion-mnist"), tmp_path / "photo.png")
    fitted = torch.from_numpy(decode_image(tmp_path / "photo.png", (SIZE, SIZE), 1)) / 255
    assert torch.equal(seen[0][0], fitted.float())
    assert not torch.equal(seen[1][0], fitted.float())  # the loader's resize, not a fit


def test_a_file_holding_another_format_never_reaches_its_plugin(tmp_path):
    # PIL picks its decoder by content: PostScript named .png would go to the EPS plugin,
    # which runs Ghostscript. Only the formats of the image extensions are tried.
    from PIL import Image

    from cnnlab.data.image_file import ImageFileError, read_image

    fake = tmp_path / "photo.png"
    fake.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n")
    with Image.open(fake) as sniffed:
        assert sniffed.format == "EPS"  # what an unrestricted open would decode it as
    with pytest.raises(ImageFileError, match="photo.png: not a readable image in a format "
                                             "cnnlab decodes .*convert it to PNG"):
        read_image(fake, 1)
    for suffix in (".ico", ".tga", ".pcx", ".jp2"):  # safe formats predict is given too
        other = tmp_path / f"icon{suffix}"
        Image.new("RGB", (16, 16), (200, 10, 10)).save(other)
        assert read_image(other, 3).getpixel((8, 8)) == (200, 10, 10)


def test_the_format_list_keeps_only_what_this_pillow_has(monkeypatch):
    # AVIF came with Pillow 11.2; naming a format PIL lacks made Image.open raise KeyError.
    from PIL import Image

    from cnnlab.data.image_file import formats_pillow_has

    Image.init()
    monkeypatch.delitem(Image.OPEN, "AVIF", raising=False)  # as an older Pillow
    assert formats_pillow_has(("PNG", "AVIF")) == ("PNG",)


def test_a_cut_out_garment_is_seen_on_black_by_a_fashion_mnist_run(tiny_run, tmp_path):
    # Its transparent surround was filled with white: an image unlike any the model
    # learnt from (a reviewer's 100 test images fell from 74% to chance), and the light
    # border then advised --invert, which made the garment dark.
    import dataclasses

    from cnnlab.train import load_run
    from cnnlab.train.predict import predict_image

    garment = gradient()
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[..., :3] = garment[..., None]
    rgba[..., 3] = np.where(garment > 100, 255, 0)  # the dark pixels cut away
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    on_black = np.where(garment > 100, garment, 0).astype(np.uint8)
    Image.fromarray(on_black).save(tmp_path / "opaque.png")
    run = load_run(tiny_run)
    fashion = dataclasses.replace(run, config=dataclasses.replace(run.config,
                                                                  data="fashion-mnist"))
    assert predict_image(fashion, tmp_path / "cutout.png", 10) == \
        predict_image(fashion, tmp_path / "opaque.png", 10)
    assert np.asarray(read_image(tmp_path / "cutout.png", 1)).max(initial=0) == 255
    assert (np.asarray(read_image(tmp_path / "cutout.png", 1)) == 255).sum() > \
        (garment == 255).sum()  # a folder run's images keep white
    # A dark icon on transparency is not lost on black: on white it shows, the light
    # background is told of, and --invert gives it light on black (the review caught the
    # first version drawing it black on black, and white on white once inverted).
    icon = np.zeros((SIZE, SIZE, 4), np.uint8)
    icon[8:20, 8:20] = (20, 20, 20, 255)  # a dark square, opaque; the rest transparent
    Image.fromarray(icon, "RGBA").save(tmp_path / "icon.png")
    light_on_black = np.zeros((SIZE, SIZE), np.uint8)
    light_on_black[8:20, 8:20] = 235
    Image.fromarray(light_on_black).save(tmp_path / "inverted.png")
    with pytest.warns(UserWarning, match="icon.png has a light background"):
        predict_image(fashion, tmp_path / "icon.png")
    assert predict_image(fashion, tmp_path / "icon.png", 10, invert=True) == \
        predict_image(fashion, tmp_path / "inverted.png", 10)


def test_a_lab_tiff_is_read_in_grey_as_in_colour(tmp_path: Path) -> None:
    # PIL converts LAB to RGB but not to "L": a greyscale model's folder dropped the file
    # as "not a readable image (conversion from LAB to RGB not supported)".
    rgb = Image.new("RGB", (SIZE, SIZE), (200, 30, 30))
    rgb.convert("LAB").save(tmp_path / "lab.tif")
    grey = decode_image(tmp_path / "lab.tif", (SIZE, SIZE), 1)
    colour = decode_image(tmp_path / "lab.tif", (SIZE, SIZE), 3)
    assert grey.shape == (1, SIZE, SIZE) and colour.shape == (3, SIZE, SIZE)
    expected = np.asarray(Image.fromarray(colour.transpose(1, 2, 0)).convert("L"))
    assert np.array_equal(grey[0], expected)


def test_a_file_cut_short_is_said_to_be_with_the_fix(tmp_path: Path) -> None:
    # It read "not a readable image (OSError: image file is truncated)", and no fix.
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "whole.png")  # noise: 12 KB, cut at 300 bytes
    Image.fromarray(noise).save(tmp_path / "whole.jpg")
    for name in ("whole.png", "whole.jpg"):
        cut = tmp_path / f"cut{Path(name).suffix}"
        cut.write_bytes((tmp_path / name).read_bytes()[:300])
        with pytest.raises(ImageFileError, match=f"{cut.name}: cut short .*copy it again, "
                                                 "or delete it"):
            read_image(cut, 1)
