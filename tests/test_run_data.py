"""The data as a run feeds it: what is refused before anything is built."""

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig


def test_fewer_test_images_than_processes_are_refused_before_anything_is_built():
    # Under torchrun each process evaluates every world_size-th test image: with fewer
    # images than processes one had none, failed alone, and torchrun killed the others.
    from cnnlab.data.dataset import DataError
    from cnnlab.train.run_data import check_data

    data = make_synthetic(num_train=8, num_test=4)
    cfg = TrainConfig(data="synthetic", eval_subset=1)
    with pytest.raises(DataError, match=r"1 test image \(eval_subset\) for 2 processes.*"
                                        r"--eval-subset 2"):
        check_data(cfg, data, world_size=2)
    check_data(cfg, data, world_size=1)
    check_data(TrainConfig(data="synthetic", eval_subset=2), data, world_size=2)
    with pytest.raises(DataError, match=r"4 test images for 8 processes"):
        check_data(TrainConfig(data="synthetic"), data, world_size=8)


def test_the_colour_check_never_hands_a_file_to_ghostscript(tmp_path, monkeypatch):
    # The check for colour images opened each file with every PIL plugin: PostScript
    # named .png went to the EPS plugin, which runs Ghostscript (a program) on it, though
    # the loader itself decodes only image formats (image_file.PIL_FORMATS).
    import numpy as np
    from PIL import EpsImagePlugin, Image

    from cnnlab.train.run_data import _a_colour_image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name / "grey.png")
    (tmp_path / "a" / "evil.png").write_bytes(
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    ran = []

    def ghostscript(*args, **kwargs):
        ran.append(args)
        raise OSError("no Ghostscript here")

    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    assert _a_colour_image(tmp_path) is None
    assert ran == []


def test_test_split_alone_is_described_without_a_training_count(tmp_path):
    # `cnnlab eval RUN` on a run given data from Python loads the test split alone, and
    # its refusal said "fashion-mnist, 0 training and 10,000 test images".
    import dataclasses
    import json

    import torch

    from cnnlab.data.dataset import ImageData
    from cnnlab.train.config import ConfigError
    from cnnlab.train.run_data import check_same_data, data_record

    given = make_synthetic(num_train=16, num_test=8)
    (tmp_path / "data.json").write_text(json.dumps(data_record(given)), encoding="utf-8")
    test_only = dataclasses.replace(
        make_synthetic(num_train=16, num_test=12, seed=4),
        train=ImageData(torch.empty((0, 1, 28, 28), dtype=torch.uint8),
                        torch.empty(0, dtype=torch.long)))
    with pytest.raises(ConfigError) as caught:
        check_same_data(tmp_path, test_only, "The test split its config names", "Fix.",
                        test_only=True)
    words = " ".join(str(caught.value).split())
    assert "from Python, not on the data its config names: synthetic, 16 training and 8 test " \
           "images of 1x28x28, 10 classes" in words  # what it trained on: both splits
    assert "is other data: synthetic, 12 test images of 1x28x28, 10 classes. Fix." in words
    with pytest.raises(ConfigError, match="other data: synthetic, 16 training and 12 test"):
        check_same_data(tmp_path, make_synthetic(num_train=16, num_test=12, seed=4),
                        "Its data", "Fix.")  # both splits loaded (resume): both counted
