"""Divergence is NaN or inf, and a resumed run's error says its checkpoint stays.

Written against mutants of cnnlab/train/divergence.py the suite let through (session
35's mutation report): D7 and D9 caught NaN alone (an inf test loss or training loss went
on as a result), D11 forgot that a run resumed inside its first epoch has a checkpoint.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from resume_helpers import signal_after_steps

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingDiverged, TrainingInterrupted, resume, train
from cnnlab.train.divergence import DivergenceChecks, epoch_end_divergence
from cnnlab.train.trainer import Trainer


def test_an_infinite_test_loss_of_finite_weights_is_a_divergence():
    # Finite logits can give an infinite loss: for logits (3e38, -3e38) the true class's
    # log-probability is -6e38, past float32's range.
    logits = torch.tensor([[3e38, -3e38]])
    assert math.isinf(torch.nn.functional.cross_entropy(logits, torch.tensor([1])).item())
    model = torch.nn.Linear(2, 2)
    assert epoch_end_divergence(4, model, model, math.inf).startswith(
        "the test loss became NaN/inf at epoch 4's evaluation")


def test_an_infinite_training_loss_stops_the_run():
    checks = DivergenceChecks()
    checks.cfg, checks.run_dir = SimpleNamespace(lr=0.5), None
    checks.epoch, checks.resumed_from = 0, None
    checks._check_finite(torch.tensor(1.5, dtype=torch.float64), 1, 0)  # finite: no error
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(TrainingDiverged, match=r"^the loss became NaN/inf at epoch 1, step 3;"):
            checks._check_finite(torch.tensor(bad, dtype=torch.float64), 1, 2)


def test_a_run_resumed_inside_its_first_epoch_says_its_checkpoint_stays(tmp_path,
                                                                        monkeypatch):
    data = make_synthetic(num_train=256, num_test=32, seed=1)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=64,
                      lr=0.01, device="cpu", quiet=True, threads=1, out_dir=str(tmp_path),
                      run_name="r", ema_decay=0.0)
    with monkeypatch.context() as m:  # Ctrl-C after 2 of the epoch's 4 steps
        signal_after_steps(m, 2)
        with pytest.raises(TrainingInterrupted):
            train(cfg, data=data)
    last = tmp_path / "r" / "checkpoints" / "last.safetensors"
    assert last.exists()
    original = Trainer._optimizer_step

    def wrecking_step(self):
        original(self)
        with torch.no_grad():  # the next batch's loss is NaN
            self.model.features[0].weight.fill_(math.nan)

    monkeypatch.setattr(Trainer, "_optimizer_step", wrecking_step)
    with pytest.raises(TrainingDiverged) as raised:
        resume(tmp_path / "r", data=data)
    # It said "No epoch had finished: no checkpoint was written", while the checkpoint
    # the resume began from was there, and kept.
    assert f"The last good checkpoint stays ({last} is kept)" in str(raised.value)
    assert "no checkpoint was written" not in str(raised.value)
    assert last.exists()
