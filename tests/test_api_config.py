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


def tiny(tmp_path, **fields) -> dict:
    return dict(data="synthetic", epochs=1, batch_size=32, device="cpu", quiet=True,
                out_dir=str(tmp_path), **fields)


def test_train_refuses_a_preset_that_was_named_but_never_applied(tmp_path):
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import train

    cfg = TrainConfig(model="lenet_modern", preset="fast", **tiny(tmp_path, run_name="r"))
    fix = "resolve_config('lenet_modern', preset='fast', overrides={'data': 'synthetic', "
    with pytest.raises(ConfigError, match="only named in this config") as caught:
        train(cfg, data=make_synthetic(num_train=64, num_test=32))
    assert fix in str(caught.value) and "'epochs': 1" in str(caught.value)
    assert not (tmp_path / "r").exists()


def test_configs_that_hold_their_presets_values_are_taken(tmp_path):
    import dataclasses

    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import train
    from cnnlab.train.presets import check_preset, preset_values

    resolved = resolve_config("lenet_modern", preset="fast", overrides=tiny(tmp_path))
    assert resolved.optimizer == "nesterov" and resolved.applied_preset == "fast"
    check_preset(dataclasses.replace(resolved, lr=0.05))  # a copy holds them still
    check_preset(TrainConfig(**{**preset_values("book", "lenet_d2l"), "model": "lenet_d2l"}))
    with pytest.raises(ConfigError, match="only named"):  # fast's values, book's name
        check_preset(dataclasses.replace(resolved, preset="book"))
    # A run's config.yaml (which does not store the marker), and the same file through
    # --config, as `cnnlab train --config` reads it.
    result = train(dataclasses.replace(resolved, run_name="r"),
                   data=make_synthetic(num_train=64, num_test=32))
    text = (result.run_dir / "config.yaml").read_text()
    assert "preset: fast" in text and "applied_preset" not in text
    check_preset(TrainConfig.load(result.run_dir / "config.yaml"))
    again = resolve_config("lenet_modern", config_file=result.run_dir / "config.yaml")
    check_preset(again)
    assert again == dataclasses.replace(resolved, run_name="r")


def test_a_model_named_in_any_case_is_kept_under_its_registered_name():
    assert TrainConfig(model="LeNet_D2L").model == "lenet_d2l"
    assert TrainConfig(model="tv:resnet18").model == "tv:resnet18"


@pytest.mark.parametrize("key", ["num_classes", "in_channels", "weights", "scratch_ops"])
def test_model_overrides_cannot_set_what_the_data_or_another_field_sets(key):
    with pytest.raises(ConfigError, match=f"model_overrides cannot set {key}: it comes from"):
        TrainConfig(model="lenet_d2l", model_overrides={key: 10}).validate()


def test_a_settings_file_that_names_a_preset_is_refused_unless_applied(tmp_path):
    from cnnlab.train import train

    (tmp_path / "mine.yaml").write_text("model: lenet_modern\npreset: fast\nepochs: 1\n")
    with pytest.raises(ConfigError, match="resolve_config"):
        train(TrainConfig.load(tmp_path / "mine.yaml"), write_run_dir=False, console=False)
    applied = resolve_config("lenet_modern", config_file=str(tmp_path / "mine.yaml"))
    assert applied.preset == "fast" and applied.schedule == "onecycle"
