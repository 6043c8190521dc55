"""check_same_settings pinned where session 42's tests left it loose (mutation53): the
settings a resume may move, a setting only one side knows, values that went through
JSON, and the words for one or several differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnlab.train import checkpoint as ckpt
from cnnlab.train.config import TrainConfig
from cnnlab.train.resume_checks import check_same_settings

LAST = Path("run/checkpoints/last.safetensors")


def _trained(cfg: TrainConfig, **changed) -> dict:
    """The checkpoint's record of ``cfg`` (as it is stored: through JSON), ``changed``."""
    return {"config": {**json.loads(json.dumps(cfg.to_dict())), **changed}}


def _cfg(**fields) -> TrainConfig:
    return TrainConfig(**{"model": "lenet_modern", "data": "synthetic", **fields})


def test_a_folder_moved_with_data_root_is_no_difference():
    # --data-root rewrites the folder spec of a run whose images moved
    cfg = _cfg(data="folder:/new/place/images")
    check_same_settings(cfg, _trained(cfg, data="folder:/old/place/images"), LAST, "c.yaml")


def test_a_setting_the_checkpoint_does_not_record_is_let_be():
    cfg = _cfg(lr=0.3)
    state = _trained(cfg)
    del state["config"]["lr"]  # an older cnnlab's checkpoint without it
    check_same_settings(cfg, state, LAST, "c.yaml")


def test_a_tuple_setting_equals_the_list_its_record_holds():
    # The record went through JSON: (1, 2) in config came back [1, 2]
    cfg = _cfg(model_overrides={"widths": (1, 2)})
    check_same_settings(cfg, _trained(cfg), LAST, "c.yaml")


def test_two_differences_are_named_each_and_set_back_as_them():
    cfg = _cfg(lr=0.5, seed=3)
    with pytest.raises(ckpt.CheckpointError) as caught:
        check_same_settings(cfg, _trained(cfg, lr=0.1, seed=0), LAST, "c.yaml")
    said = str(caught.value)
    assert "(lr: 0.5, seed: 3 there; lr: 0.1, seed: 0 in the checkpoint)" in said, said
    assert "set them back in c.yaml" in said


def test_a_long_value_is_shown_up_to_sixty_characters():
    cfg = _cfg(model_overrides={"widths": [64, 128, 256, 512]})
    with pytest.raises(ckpt.CheckpointError) as caught:
        check_same_settings(cfg, _trained(cfg, model_overrides={}), LAST, "c.yaml")
    said = str(caught.value)
    assert 'model_overrides: {"widths": [64, 128, 256, 512]} there' in said, said
    assert "set it back" in said
