"""Prediction behaviour no test pinned (found by hand-mutation testing): how many
unreadable files predict_images names, and that invert inverts."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.train.predict import (
    UnreadableImagesWarning,
    predict_images,
)


def test_skipping_many_unreadable_files_names_three_and_counts_the_rest(tiny_run, tmp_path):
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "good.png")
    for i in range(5):
        (tmp_path / f"bad{i}.png").write_bytes(b"not an image")
    with pytest.warns(UnreadableImagesWarning) as caught:
        answers = predict_images(tiny_run, tmp_path, errors="skip")
    [said] = [str(w.message) for w in caught if w.category is UnreadableImagesWarning]
    assert said.startswith("5 of 6 images could not be read") and said.endswith("; and 2 more")
    assert "bad2.png" in said and "bad3.png" not in said
    assert [path.name for path, _ in answers] == ["good.png"]
    assert [path.name for path, _ in answers.skipped] == [f"bad{i}.png" for i in range(5)]



def test_invert_classifies_the_image_with_its_grey_levels_inverted(tiny_run, tmp_path):
    # --invert (invert=True) is the advice for a dark drawing on white: nothing pinned
    # that it changes what the model sees at all.
    from cnnlab.train.predict import image_to_tensor, open_for_prediction, predict_image

    run = open_for_prediction(tiny_run)
    pixels = np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    Image.fromarray(255 - pixels).save(tmp_path / "negative.png")
    assert image_to_tensor(pixels, run.preprocess, invert=True).equal(
        image_to_tensor(255 - pixels, run.preprocess))
    inverted = predict_image(run, tmp_path / "x.png", top_k=10, invert=True)
    assert inverted == predict_image(run, tmp_path / "negative.png", top_k=10)
    assert inverted != predict_image(run, tmp_path / "x.png", top_k=10)
