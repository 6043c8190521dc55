"""A run whose weights, or the outputs they give, turn NaN/inf is reported as diverged,
as one whose training loss does: one line, exit status 3, and the last good checkpoint
kept (the checks at an epoch's end come before its row and checkpoints)."""

import math

import pytest
import torch
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingDiverged, train
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.divergence import epoch_end_divergence
from cnnlab.train.runlog import MetricsLog
from cnnlab.train.trainer import Trainer


def test_a_step_that_leaves_the_outputs_nan_ends_the_run_as_diverged(tmp_path):
    # Reported by a reviewer: one step at lr 1e12 leaves weights so large that the model's
    # outputs overflow; every training loss was taken before it, and finite. The run said
    # test loss nan and exited 0, its "best" checkpoint holding the wrecked weights.
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--epochs", "1",
        "--train-subset", "64", "--eval-subset", "32", "--lr", "1e12", "--quiet",
        "--threads", "1", "--out-dir", str(tmp_path), "--run-name", "r"])
    assert result.exit_code == 3, result.output
    said = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(said) == 1, result.output
    assert said[0].startswith("error: the test loss became NaN/inf at epoch 1's evaluation")
    # What to try, as the training loss's divergence says it.
    assert "Try a lower --lr (now 1000000000000.0)" in said[0] and "--clip-grad-norm" in said[0]
    assert "No checkpoint was written" in said[0]
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_weights_wrecked_by_an_epochs_last_step_keep_the_last_good_checkpoint(tmp_path,
                                                                               monkeypatch):
    data = make_synthetic(num_train=128, num_test=32, seed=1)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=64,
                      lr=0.01, device="cpu", quiet=True, threads=1, out_dir=str(tmp_path),
                      run_name="r")
    original = Trainer._optimizer_step

    def wrecking_step(self):
        original(self)
        if self.epoch == 1 and self.step_in_epoch + 1 == self.steps_per_epoch:
            with torch.no_grad():  # epoch 2's last step: no loss is taken after it
                self.model.features[0].weight.fill_(math.inf)

    monkeypatch.setattr(Trainer, "_optimizer_step", wrecking_step)
    with pytest.raises(TrainingDiverged, match=r"^the weights became NaN/inf at the end of "
                       r"epoch 2 \(features\.0\.weight; .*; stopping\. The last "
                       r"good checkpoint stays"):
        train(cfg, data=data)
    run = tmp_path / "r"
    assert [row["epoch"] for row in MetricsLog.read(run / "metrics.csv")] == [1]
    for which in ("last", "best"):
        groups, state = ckpt.load_checkpoint(run / "checkpoints" / f"{which}.safetensors")
        assert state["epoch"] == 1
        assert all(torch.isfinite(v).all() for v in groups["model"].values())


def test_what_an_epochs_end_finds_diverged():
    live, evaluated = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert epoch_end_divergence(1, live, live, 0.5) == ""
    assert epoch_end_divergence(1, live, None, None) == ""  # not evaluated (eval_every)
    assert epoch_end_divergence(3, live, live, math.nan).startswith(
        "the test loss became NaN/inf at epoch 3's evaluation")
    with torch.no_grad():
        evaluated.bias[0] = math.nan  # the EMA's weights, say
    assert epoch_end_divergence(2, live, evaluated, math.nan).startswith(
        "the weights became NaN/inf at the end of epoch 2 (bias;")
