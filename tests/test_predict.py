"""`cnnlab predict`: the number of classes shown per image (--top-k)."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import ConfigError
from cnnlab.train.predict import predict_images

runner = CliRunner()


@pytest.fixture(scope="module")
def run_and_image(tiny_run, tmp_path_factory):
    image = tmp_path_factory.mktemp("images") / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8)
                    ).save(image)
    return tiny_run, image


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_below_one_is_refused(run_and_image, top_k):
    run, image = run_and_image
    with pytest.raises(ConfigError, match=rf"--top-k {top_k}: show at least 1"):
        predict_images(run, [image], top_k=top_k)
    result = runner.invoke(app, ["predict", str(run), str(image), "--top-k", str(top_k)])
    assert result.exit_code == 1 and "show at least 1" in result.output, result.output


def test_top_k_above_the_classes_shows_them_all(run_and_image):
    run, image = run_and_image
    [(_, ranked)] = predict_images(run, [image], top_k=50)
    assert len(ranked) == 10
    assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)


def test_an_unreadable_image_is_named_and_the_others_still_classified(run_and_image, tmp_path):
    run, image = run_and_image
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    result = runner.invoke(app, ["predict", str(run), str(image), str(fake), str(image),
                                 str(tmp_path / "missing.png")])
    assert result.exit_code == 1
    assert result.stdout.count("probability") == 2  # both good images got their table
    words = " ".join(result.output.split())
    assert "fake.png: not a readable image" in words and "image not found" in words
    assert "2 of 4 images could not be read" in words and "Traceback" not in result.output
