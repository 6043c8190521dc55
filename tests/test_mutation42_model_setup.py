"""The model a run trains, as model_setup.py builds and adapts it: the edges hand-mutation
testing (session 41, mutation42) found unpinned."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from warning_helpers import warned

from cnnlab.train.config import TrainConfig


def _small_input_warnings(name: str, size: int) -> list[str]:
    from cnnlab.train.model_setup import warn_of_a_small_input

    return warned(warn_of_a_small_input, name, size)


def test_an_imagenet_network_is_warned_of_inputs_a_quarter_of_its_design_size_or_less():
    assert _small_input_warnings("resnet18", 64) == []  # 64 x 4 > 224: it sees enough
    said = _small_input_warnings("resnet18", 56)  # 56 x 4 = 224: its stem leaves 14x14
    assert len(said) == 1 and "designed for 224x224 inputs and sees 56x56" in said[0]


def test_whitening_reads_images_spread_over_a_split_given_class_by_class(monkeypatch):
    from cnnlab.train import model_setup

    n = 2 * model_setup.WHITENING_IMAGES
    labels = torch.cat([torch.zeros(n // 2), torch.ones(n // 2)]).long()
    train = SimpleNamespace(images=torch.zeros(n, 1, 2, 2), labels=labels)
    given = {}

    def batches(images, labels):
        given["labels"] = labels
        return [(images, labels)]

    monkeypatch.setattr(model_setup, "whiten_stem", lambda model, xs: list(xs))
    model_setup.adapt_stem(None, TrainConfig(whiten_stem=True), False, train, batches)
    assert len(given["labels"]) == model_setup.WHITENING_IMAGES
    assert given["labels"].tolist().count(1) == model_setup.WHITENING_IMAGES // 2
