"""A run stopped mid-epoch (twice in one epoch) and resumed ends bit for bit as the
uninterrupted run: weights, EMA, each epoch's losses, accuracies and learning rate.

Mutation testing (session 38, mutation21) found the epoch-boundary resume of
test_determinism.py blind to what only a mid-epoch stop carries: the partial epoch's
sums and the step within the epoch, against a schedule that moves every step.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from resume_helpers import signal_after_steps
from test_determinism import assert_same_weights, fit, small_cfg
from test_resume_versions import _edit_state

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainingInterrupted
from cnnlab.train.checkpoint import CheckpointError, read_state
from cnnlab.train.device import torch_threads
from cnnlab.train.trainer import Trainer


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=96, num_test=40, seed=3)  # 3 steps an epoch


def stop_after(cfg, data, run_dir, monkeypatch, steps: int) -> None:
    with monkeypatch.context() as patch:
        signal_after_steps(patch, steps)
        with pytest.raises(TrainingInterrupted):
            fit(cfg, data, run_dir=run_dir)


def test_two_stops_inside_one_epoch_resume_to_the_uninterrupted_run(tmp_path, data,
                                                                     monkeypatch):
    cfg = small_cfg(epochs=3, eval_every=1, schedule="cosine", warmup_epochs=1)
    straight_scores, straight = fit(cfg, data)
    stop_after(cfg, data, tmp_path, monkeypatch, 4)  # epoch 2, after its first step
    last = tmp_path / "checkpoints" / "last.safetensors"
    first = read_state(last)["partial"]
    # A first part of the epoch that took long: the clock the second part must add to
    _edit_state(last, lambda state: state["partial"].update(time=1000.0))
    stop_after(cfg, data, tmp_path, monkeypatch, 1)  # and after its second
    second = read_state(last)["partial"]
    # The epoch's sums and clock carry both sessions' steps (its row's images/s and time)
    assert second["seen"] == 2 * first["seen"] and second["time"] > 1000.0
    resumed_scores, resumed = fit(cfg, data, run_dir=tmp_path)
    assert_same_weights(straight, resumed)
    assert resumed_scores == straight_scores


def test_a_resume_carries_on_the_runs_training_clock(tmp_path, data, monkeypatch):
    # Lost, metrics.csv's elapsed_s would start again at 0 and a time budget (max_time)
    # would be a fresh one at each resume.
    cfg = small_cfg(epochs=2, eval_every=2)
    stop_after(cfg, data, tmp_path, monkeypatch, 3)  # at epoch 1's end
    last = tmp_path / "checkpoints" / "last.safetensors"
    _edit_state(last, lambda state: state.update(train_time=1000.0))
    with torch_threads(None):
        trainer = Trainer(cfg, data, run_dir=tmp_path)
        trainer.load_resume_state(last)
        history = trainer.fit().history
    assert history[-1]["elapsed_s"] > 1000.0 and trainer.train_time > 1000.0


def test_a_resume_puts_back_the_loss_scale(tmp_path, data, monkeypatch):
    # fp16's loss scale, learnt over the run (halved at each overflow): started again at
    # 65536, a CUDA run resumed skips other steps than the uninterrupted one. An enabled
    # CPU scaler stands in for CUDA's here.
    cfg = small_cfg(epochs=2)
    stop_after(cfg, data, tmp_path, monkeypatch, 3)
    last = tmp_path / "checkpoints" / "last.safetensors"
    _edit_state(last, lambda state: state.update(scaler={
        "scale": 128.0, "growth_factor": 2.0, "backoff_factor": 0.5,
        "growth_interval": 2000, "_growth_tracker": 7}))
    with torch_threads(None):
        trainer = Trainer(cfg, data, run_dir=tmp_path)
        trainer.scaler = torch.amp.GradScaler("cpu", enabled=True)
        trainer.load_resume_state(last)
    assert trainer.scaler.get_scale() == 128.0
    assert trainer.scaler.state_dict()["_growth_tracker"] == 7


def test_another_models_checkpoint_is_refused_by_name(tmp_path, data, monkeypatch):
    # config.yaml's model edited after the run began: refused naming both models and the
    # fix, before any weights are compared (their mismatch names neither).
    cfg = small_cfg(epochs=2)
    stop_after(cfg, data, tmp_path, monkeypatch, 3)
    other = dataclasses.replace(cfg, model="lenet_modern", model_overrides={})
    with torch_threads(None):
        trainer = Trainer(other, data, run_dir=tmp_path)
        with pytest.raises(CheckpointError, match=r"saved from 'speednet', but config\.yaml "
                                                  r"says 'lenet_modern'"):
            trainer.load_resume_state(tmp_path / "checkpoints" / "last.safetensors")
