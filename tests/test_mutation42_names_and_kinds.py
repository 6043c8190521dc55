"""Run folder names Windows refuses or confuses, and config values of the wrong kind: the
edges hand-mutation testing (session 41, mutation42) found unpinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.run_names import (
    LONGEST_INSIDE,
    MAX_PATH,
    check_windows_run_dir,
    windows_name_problem,
    windows_path_problem,
)


def test_a_run_folder_whose_files_reach_max_path_exactly_is_refused():
    # Windows refuses a path of MAX_PATH characters or more: a folder whose longest file
    # would be exactly 260 long is one too many, one shorter is fine.
    at_limit = Path("/" + "a" * (MAX_PATH - LONGEST_INSIDE - 1))
    assert len(str(at_limit)) + LONGEST_INSIDE == MAX_PATH
    assert "260" in windows_path_problem(at_limit)
    assert windows_path_problem(Path(str(at_limit)[:-1])) is None


def test_a_long_path_names_the_run_name_as_a_fix_only_when_one_was_given():
    deep = Path("/" + "d" * 250)
    with pytest.raises(ConfigError, match=r"choose a shorter --out-dir or --run-name$"):
        check_windows_run_dir(deep, "mine")
    with pytest.raises(ConfigError, match=r"choose a shorter --out-dir$"):
        check_windows_run_dir(deep, None)


@pytest.mark.parametrize("name", ["NUL .txt", "con .log", "COM1 "])
def test_a_device_name_with_spaces_before_its_extension_is_still_a_device(name):
    # Windows drops the spaces before the dot as it does the extension: "NUL .txt" is NUL.
    assert "device" in windows_name_problem(name) or "trailing" in windows_name_problem(name)
    assert "device" in windows_name_problem("NUL .txt")


@pytest.mark.parametrize("field", ["epochs", "batch_size", "seed"])
def test_true_or_false_is_no_whole_number(field):
    # YAML's `epochs: yes` is True; Python counts a bool as an int, the config must not.
    with pytest.raises(ConfigError, match=f"invalid value for {field}: True.*a whole number"):
        TrainConfig.from_dict({field: True})


def test_a_missing_config_file_is_named_as_missing(tmp_path):
    from cnnlab.train.presets import resolve_config

    with pytest.raises(ConfigError, match=r"^config file not found: .*nope\.yaml$"):
        resolve_config("lenet_modern", config_file=tmp_path / "nope.yaml")


def test_two_merge_keys_in_one_mapping_are_no_key_set_twice(tmp_path):
    from cnnlab.train.yaml_file import read_mapping

    # `<<:` twice merges both anchors (PyYAML reads it so); only a field written twice
    # is the mistake the duplicate check is for.
    (tmp_path / "c.yaml").write_text("a: &a {lr: 0.3}\nb: &b {epochs: 2}\n"
                                     "run:\n  <<: *a\n  <<: *b\n", encoding="utf-8")
    assert read_mapping(tmp_path / "c.yaml")["run"] == {"lr": 0.3, "epochs": 2}


@pytest.mark.parametrize("key", ["in_channels", "num_classes"])
def test_model_overrides_cannot_set_what_the_data_decides(key):
    from cnnlab.train.model_setup import check_model_overrides

    # Passed twice when the model is built ("got multiple values for keyword argument").
    with pytest.raises(ConfigError, match=f"model_overrides cannot set {key}: it comes from "
                                          "the data's"):
        check_model_overrides("lenet_modern", {key: 3})


def test_an_input_one_pixel_short_of_the_models_least_is_refused_with_the_resize_to_give():
    from cnnlab.models import model_info
    from cnnlab.train.model_setup import build_model

    least = model_info("lenet_modern").min_input_size
    with pytest.raises(ConfigError, match=f"needs inputs of at least {least} pixels; the data "
                                          f"is {least - 1}x{least - 1}: pass --resize {least}"):
        build_model(TrainConfig(model="lenet_modern"), 10, 1, least - 1)
    assert build_model(TrainConfig(model="lenet_modern"), 10, 1, least) is not None


def test_each_auxiliary_classifier_weighs_0_3_in_the_training_loss():
    import torch
    import torch.nn.functional as F

    from cnnlab.train.model_setup import training_loss

    logits, aux = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    y = torch.tensor([0])
    out, loss = training_loss((logits, aux, None), y, 0.0)
    assert out is logits
    assert torch.allclose(loss, F.cross_entropy(logits, y) + 0.3 * F.cross_entropy(aux, y))
