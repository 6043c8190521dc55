"""Small things a notebook meets: a pair of numpy ints as image_size, what dir() offers,
a stray WORLD_SIZE while a run's restart is worded."""

from __future__ import annotations

import numpy as np
import torch

import cnnlab.train
from cnnlab.models import get_model
from cnnlab.train.run_files import start_again


def test_a_pair_of_numpy_ints_as_image_size_builds():
    model = get_model("lenet_d2l", image_size=(np.int64(32), np.int64(32)))
    assert model(torch.rand(1, 1, 32, 32)).shape == (1, 10)


def test_the_train_package_offers_no_helper_function():
    assert "lazy_exports" not in dir(cnnlab.train)
    assert "TrainConfig" in dir(cnnlab.train)


def test_a_world_size_no_torchrun_set_leaves_the_restart_words_alone(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("model: lenet_d2l\n", encoding="utf-8")
    monkeypatch.setenv("WORLD_SIZE", "two")
    assert f"cnnlab train --config {tmp_path / 'config.yaml'}" in start_again(tmp_path)
