"""A time budget spent to the exact second: the trainer stops at ``train_time >=
max_time``, so a resume's checks must take that run as out of time too, not as one with
a step left (mutation testing, session 38: `<` and `>=` turned about survived)."""

from __future__ import annotations

import json

import pytest

from cnnlab.train import ConfigError, TrainConfig
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.resume_checks import check_work_left, load_plan, training_left

STATE = {"epoch": 1, "step_in_epoch": 2, "train_time": 10.0, "world_size": None}


def cfg(**fields) -> TrainConfig:
    return TrainConfig(**{"model": "lenet_modern", "data": "synthetic", "epochs": 3,
                          "max_time": 10.0, **fields})


def test_a_budget_spent_to_the_second_leaves_no_training():
    assert not training_left(cfg(), STATE)
    assert training_left(cfg(max_time=10.5), STATE)
    assert training_left(cfg(max_time=None), STATE)


def test_a_resume_of_a_run_whose_budget_is_spent_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "read_state", lambda path: dict(STATE))
    last = tmp_path / "last.safetensors"
    # No summary yet: killed while its outputs were written, which the resume writes.
    assert check_work_left(cfg(), last, tmp_path, cfg()) is False
    # Its outputs written: nothing is left to do, and the resume says why.
    (tmp_path / "summary.json").write_text(json.dumps({"train_time_s": 10.0}),
                                           encoding="utf-8")
    (tmp_path / "report.html").write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"already trained for 10\.0 s of its 10 s budget"):
        check_work_left(cfg(), last, tmp_path, cfg())


def test_a_spent_budget_is_not_lowered_to_the_checkpoints_smaller_one(tmp_path, monkeypatch):
    cfg(max_time=10.0).save(tmp_path / "config.yaml")
    state = {**STATE, "train_time": 12.0, "config": {"epochs": 3, "max_time": 5.0}}
    monkeypatch.setattr(ckpt, "read_state", lambda path: state)
    assert load_plan(tmp_path / "config.yaml", tmp_path / "last.safetensors").max_time == 10.0


def test_a_run_of_two_processes_resumed_by_one_is_refused(monkeypatch, tmp_path):
    # One process in place of two halves the batch a step and doubles the steps: the
    # run would go on silently otherwise (only the other way about was tested).
    from cnnlab.train import resume_checks

    monkeypatch.setattr(resume_checks, "launched_world_size", lambda: 1)
    with pytest.raises(ConfigError, match="trained on 2 processes"):
        resume_checks.check_world_size(cfg(), {"world_size": 2}, tmp_path)
    resume_checks.check_world_size(cfg(), {"world_size": 1}, tmp_path)


@pytest.mark.parametrize("epoch, step", [(2, 3), (3, 0)])
def test_a_checkpoint_in_or_at_the_end_of_the_new_plans_last_epoch_catches_up(
        tmp_path, monkeypatch, epoch, step):
    # `resume --epochs 1` of a 2-epoch run, killed before config.yaml took the plan,
    # with its checkpoint inside epoch 3 (or at its end): that plan's last epoch.
    cfg(epochs=2, max_time=None).save(tmp_path / "config.yaml")
    state = {"epoch": epoch, "step_in_epoch": step, "train_time": 2.0,
             "config": {"epochs": 3, "max_time": None}}
    monkeypatch.setattr(ckpt, "read_state", lambda path: state)
    assert load_plan(tmp_path / "config.yaml", tmp_path / "last.safetensors").epochs == 3


def test_another_cudnn_on_the_same_gpu_is_said():
    from cnnlab.train.resume_checks import other_code_notice

    gpu = {"cnnlab": "0.1.0", "sources": "ab" * 32, "torch": "2.5.1+cu121", "device": "cuda",
           "gpu": "NVIDIA H100 80GB HBM3", "cudnn": 90100}
    notice = other_code_notice("last.safetensors", gpu, {**gpu, "cudnn": 90501})
    assert "(cuDNN differs)" in notice and "with cuDNN 90100" in notice
