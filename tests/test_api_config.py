"""TrainConfig and resolve_config from Python: the same refusals, in the same words, as
the command line gives."""

from __future__ import annotations

import pytest

from cnnlab.models._registry import UnknownModelError
from cnnlab.train import ConfigError, TrainConfig, resolve_config


def test_a_misspelt_keyword_to_the_constructor_names_the_field_meant():
    with pytest.raises(ConfigError, match=r"learning_rate \(did you mean lr\?\)"):
        TrainConfig(learning_rate=0.1)
    with pytest.raises(TypeError, match=r"epoch \(did you mean epochs\?\)"):  # still one
        TrainConfig(model="lenet_modern", epoch=3)


def test_copies_of_a_config_are_still_made_as_before():
    import copy
    import dataclasses
    import pickle

    cfg = TrainConfig(lr=0.2, model_overrides={"widths": [8, 16]})
    assert copy.deepcopy(cfg) == cfg == pickle.loads(pickle.dumps(cfg))
    assert dataclasses.replace(cfg, lr=0.3).lr == 0.3


def test_resolve_config_refuses_an_unknown_model_with_the_closest_names():
    with pytest.raises(UnknownModelError, match="Did you mean: lenet_d2l"):
        resolve_config("lenet_dl2")
    with pytest.raises(UnknownModelError, match="lenet_d2l"):
        resolve_config("lenet_dl2", preset="fast", overrides={"epochs": 2})
