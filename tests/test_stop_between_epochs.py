"""A signal heard between two steps of training (while an epoch is evaluated and
checkpointed, or as the run begins) stops the run before another step: the user asked
for no more training. The run stops where it stands, and a resume is exact."""

from __future__ import annotations

import signal

import pytest
import torch
from resume_helpers import STEPS_PER_EPOCH, count_steps, small_run

import cnnlab.train.trainer as trainer_module
from cnnlab.train import TrainingInterrupted, resume
from cnnlab.train import checkpoint as ckpt

pytestmark = pytest.mark.usefixtures("pythons_ctrl_c")


def ctrl_c_first(function, when=lambda *args: True):
    """``function``, after a Ctrl-C delivered to the handler in place (as the OS does)."""
    def wrapped(*args, **kwargs):
        if when(*args):
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        return function(*args, **kwargs)

    return wrapped


def weights(run_dir):
    groups, _ = ckpt.load_checkpoint(run_dir / "checkpoints" / "last.safetensors")
    return {**groups["model"], **{f"ema.{k}": v for k, v in groups["ema"].items()}}


def assert_resumes_exactly(tmp_path, monkeypatch):
    resume(tmp_path / "split")
    straight, split = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert straight.keys() == split.keys()
    for name, value in straight.items():
        assert torch.equal(value, split[name]), name


def test_ctrl_c_while_an_epoch_is_evaluated_trains_no_step_of_the_next(tmp_path, monkeypatch):
    # It came after epoch 1's last step: the run trained epoch 2's first step, then stopped.
    small_run(tmp_path, monkeypatch, epochs=3, ema_decay=0.5, threads=1, run_name="straight")
    with monkeypatch.context() as m:
        steps = count_steps(m)
        m.setattr(trainer_module.Trainer, "_evaluate", ctrl_c_first(
            trainer_module.Trainer._evaluate, when=lambda trainer: trainer.epoch == 0))
        with pytest.raises(TrainingInterrupted, match=r"stopped by SIGINT before epoch 2's "
                                                      r"first step; checkpoint saved"):
            small_run(tmp_path, monkeypatch, epochs=3, ema_decay=0.5, threads=1, run_name="split")
    assert steps["n"] == STEPS_PER_EPOCH
    state = ckpt.read_state(tmp_path / "split" / "checkpoints" / "last.safetensors")
    assert (state["epoch"], state["step_in_epoch"]) == (1, 0)
    assert state["stopped_by"] == "SIGINT"  # how compare tells it from a kill's checkpoint
    assert_resumes_exactly(tmp_path, monkeypatch)
    resumed = ckpt.read_state(tmp_path / "split" / "checkpoints" / "last.safetensors")
    assert resumed["stopped_by"] is None  # trained on to the end: no longer stopped


def test_ctrl_c_as_the_run_begins_trains_no_step(tmp_path, monkeypatch):
    # Opening the metrics log comes after the trainer listens, before the first step: the
    # run trained one step before stopping.
    small_run(tmp_path, monkeypatch, epochs=2, ema_decay=0.5, threads=1, run_name="straight")
    with monkeypatch.context() as m:
        steps = count_steps(m)
        m.setattr(trainer_module, "MetricsLog", ctrl_c_first(trainer_module.MetricsLog))
        with pytest.raises(TrainingInterrupted, match=r"before epoch 1's first step"):
            small_run(tmp_path, monkeypatch, epochs=2, ema_decay=0.5, threads=1, run_name="split")
    assert steps["n"] == 0
    state = ckpt.read_state(tmp_path / "split" / "checkpoints" / "last.safetensors")
    assert (state["epoch"], state["step_in_epoch"]) == (0, 0)
    assert_resumes_exactly(tmp_path, monkeypatch)
