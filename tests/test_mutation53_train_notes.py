"""The notes `cnnlab train` gives on --batch-size / --lookahead-steps beyond a
--train-subset, and the refusal of a run's folder as --out-dir, pinned where session 42's
tests left them loose (mutation53): partial last batches and accumulation rounded up, a
note only for the option typed, and a "~" folder."""

from __future__ import annotations

import pytest

from cnnlab.cli.train_notes import refuse_a_run_folder_as_out_dir, settings_without_effect
from cnnlab.train import ConfigError, TrainConfig


def notes(given: set[str], **fields) -> str:
    cfg = TrainConfig(model="lenet_modern", data="synthetic", **fields)
    return " ".join(settings_without_effect(cfg, given))


def test_a_partial_last_batch_is_an_optimizer_step():
    # 66 images in batches of 16: 5 batches (the 5th of two images), 5 steps in 1 epoch
    fields = dict(train_subset=66, batch_size=16, epochs=1)
    assert notes({"lookahead_steps"}, lookahead_steps=5, **fields) == ""
    assert "the run's 5 optimizer steps" in notes({"lookahead_steps"}, lookahead_steps=6,
                                                   **fields)


def test_a_partial_accumulation_is_an_optimizer_step():
    # 48 images in batches of 16: 3 batches, 2 steps an epoch at accum_steps 2
    fields = dict(train_subset=48, batch_size=16, accum_steps=2, epochs=1)
    assert notes({"lookahead_steps"}, lookahead_steps=2, **fields) == ""
    assert "the run's 2 optimizer steps" in notes({"lookahead_steps"}, lookahead_steps=3,
                                                   **fields)


def test_a_batch_size_not_typed_is_not_noted_beside_a_lookahead_that_is():
    said = notes({"lookahead_steps"}, lookahead_steps=1, batch_size=1000, train_subset=64)
    assert said == ""


def test_a_run_folder_given_with_a_tilde_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    run = tmp_path / "runs" / "done"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("model: lenet_modern\nout_dir: runs\nrun_name: done\n",
                                     encoding="utf-8")
    (run / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    cfg = TrainConfig(model="lenet_modern", data="synthetic", out_dir="~/runs/done")
    with pytest.raises(ConfigError, match="is a run's folder, and --out-dir is the folder"):
        refuse_a_run_folder_as_out_dir(cfg)
