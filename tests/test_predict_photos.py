"""Classifying a folder of one's own photos: a broken file skipped from Python when asked,
a progress bar that counts images as they are read, and large photos decoded small
(a 100-megapixel JPEG took 1.3 GB to classify at 28x28) with ordinary ones predicted as
before."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data import image_file
from cnnlab.data.augment import resize, to_float
from cnnlab.data.image_file import centre_square, chw_array, decode_image, fit_image, to_mode
from cnnlab.train import ConfigError
from cnnlab.train import predict as predict_module
from cnnlab.train.predict import (
    UnreadableImagesWarning,
    open_for_prediction,
    predict_image,
    predict_images,
)

runner = CliRunner()


def photo(height: int, width: int, seed: int = 0) -> Image.Image:
    """A photo-like picture: smooth colour waves with sensor noise (every resampling
    step shows in it)."""
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    rgb = np.stack([127 + 100 * np.sin(f * x * 6 + 3 * y) * np.cos(f * y * 5)
                    for f in (3, 5, 7)], axis=-1)
    rgb += np.random.default_rng(seed).normal(0, 12, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.fixture
def folder_with_a_broken_file(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        photo(40, 30, seed=i).save(photos / f"{i}.jpg")
    (photos / "2.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    return photos


def test_predict_images_skips_unreadable_files_when_asked_and_says_which(
        tiny_run, folder_with_a_broken_file):
    photos = folder_with_a_broken_file
    # The default is as before: the first unreadable file raises, naming it.
    with pytest.raises(ValueError, match=r"2\.jpg: not a readable image"):
        predict_images(tiny_run, photos)
    with pytest.warns(UnreadableImagesWarning, match=r"1 of 5 images could not be read "
                      r"and were skipped \(listed in the answer's \.skipped\): .*2\.jpg"):
        answers = predict_images(tiny_run, photos, errors="skip")
    assert [path.name for path, _ in answers] == ["0.jpg", "1.jpg", "3.jpg", "4.jpg"]
    assert all(len(ranked) == 3 for _, ranked in answers)
    [(path, error)] = answers.skipped
    assert path == photos / "2.jpg" and "not a readable image" in str(error)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped: no warning, an empty list
        assert predict_images(tiny_run, photos / "0.jpg", errors="skip").skipped == []
    with pytest.raises(ConfigError, match="errors='ignore'"):
        predict_images(tiny_run, photos, errors="ignore")  # type: ignore[arg-type]


def test_the_progress_bar_counts_images_as_they_are_read(tiny_run, tmp_path, monkeypatch):
    # It moved 64 images at a time: after each batch's forward pass, not as each was read.
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(70):
        Image.new("L", (28, 28), i).save(photos / f"{i:02d}.png")
    events: list[str] = []
    opened = predict_module.open_for_prediction

    def counted(*args, **kwargs):
        run = opened(*args, **kwargs)
        model = run.model
        run.model = lambda x: events.append("forward") or model(x)
        return run

    from cnnlab import progress
    from cnnlab.cli import predict as cli_predict

    monkeypatch.setattr(predict_module, "open_for_prediction", counted)
    monkeypatch.setattr(progress, "shows_live", lambda console: True)
    monkeypatch.setattr(cli_predict, "BAR_FROM", 1)
    monkeypatch.setattr(progress.ProgressBar, "advance",
                        lambda self, task, advance=1: events.append("image"))
    result = runner.invoke(app, ["predict", str(tiny_run), str(photos), "--no-tta"])
    assert result.exit_code == 0, result.output
    assert events == ["image"] * 64 + ["forward"] + ["image"] * 6 + ["forward"]


def test_a_large_jpeg_or_png_is_decoded_small_and_classified_as_at_full_size(
        tiny_run, tmp_path, monkeypatch):
    big = photo(1500, 2000)
    big.save(tmp_path / "big.jpg", quality=95)
    big.save(tmp_path / "big.png", compress_level=1)
    run = open_for_prediction(tiny_run)
    sizes = []
    monkeypatch.setattr(image_file, "to_mode", lambda image, *args: sizes.append(
        image.size) or to_mode(image, *args))
    for name in ("big.jpg", "big.png"):
        sizes.clear()
        ranked = predict_image(run, tmp_path / name, top_k=10, tta=False)
        # Decoded at 1/8 (JPEG), or its centre square averaged 13 x 13 (PNG): both still
        # 4 times the 28 x 28 they are resized to next, or more
        assert sizes == ([(250, 188)] if name == "big.jpg" else [(115, 115)]), sizes
        with Image.open(tmp_path / name) as image:
            image.load()
            assert dict(ranked) == pytest.approx(dict(full_size(run, image)), abs=2e-3)
    # PIL's limit: a JPEG decoded at an eighth no longer said to take "much memory"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000_000)  # refused from 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict_image(run, tmp_path / "big.jpg")
    with pytest.warns(UserWarning, match="big.png: 3.0 megapixels"):
        predict_image(run, tmp_path / "big.png")


def full_size(run, image: Image.Image) -> list[tuple[str, float]]:
    """The run's probabilities for ``image`` prepared as predict prepared every image
    before large ones were decoded small: converted at full size, its centre square
    resized by the loader."""
    pp = run.preprocess
    picture = to_mode(image, pp.channels)
    pixels = resize(torch.from_numpy(chw_array(centre_square(picture))).unsqueeze(0),
                    pp.image_size)
    with torch.no_grad():
        probs = run.model(to_float(pixels, pp.mean, pp.std)).softmax(dim=1)[0]
    return list(zip(run.classes, probs.tolist(), strict=True))


def test_ordinary_photos_are_classified_as_before(tiny_run, tmp_path):
    run = open_for_prediction(tiny_run)
    turned = photo(480, 640, seed=1)
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone held upright: turned a quarter when shown
    turned.save(tmp_path / "upright.jpg", exif=exif.tobytes())
    photo(28, 28, seed=2).save(tmp_path / "small.png")
    photo(300, 200, seed=3).convert("L").save(tmp_path / "grey.jpg")
    cut_out = photo(900, 1200, seed=4).convert("RGBA")
    cut_out.putalpha(Image.new("L", cut_out.size, 0).resize((1, 1)).resize(cut_out.size))
    cut_out.paste((0, 0, 0, 255), (300, 200, 900, 700))
    cut_out.save(tmp_path / "cut_out.png")
    photo(600, 800, seed=5).quantize(64).save(tmp_path / "palette.gif")
    for path in sorted(tmp_path.iterdir()):
        ranked = predict_image(run, path, top_k=10, tta=False)
        with Image.open(path) as image:
            image.load()
            before = dict(full_size(run, image))
        assert ranked[0][0] == max(before, key=before.get), path.name
        assert dict(ranked) == pytest.approx(before, abs=2e-3), path.name


@pytest.mark.parametrize("channels", [1, 3])
def test_a_folder_decodes_a_large_photo_as_at_full_size(tmp_path, channels):
    # Training decodes a folder's images as predict does: a phone photo, to a grey level.
    photo(1200, 1600).save(tmp_path / "phone.jpg", quality=95)
    with Image.open(tmp_path / "phone.jpg") as image:
        image.load()
        before = fit_image(to_mode(image, channels), (32, 32)).astype(int)
    after = decode_image(tmp_path / "phone.jpg", (32, 32), channels).astype(int)
    assert np.abs(after - before).mean() < 0.5 and np.abs(after - before).max() <= 6
