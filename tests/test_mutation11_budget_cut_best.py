"""A time budget that cuts an epoch evaluates the run where it stands; when that beats
an earlier epoch's best, the earlier best checkpoint is kept aside (best-before-cut.*)
and a resume puts it back, so the resumed run ends with the uninterrupted run's best."""

import dataclasses

import pytest
import torch
from resume_helpers import small_run

from cnnlab.train import TrainingInterrupted, resume
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.trainer import Trainer

CUT_ACC, FIRST_ACC, SECOND_ACC = 0.9, 0.5, 0.3


def _scripted_evaluations(monkeypatch, stop_after_first: bool = False) -> None:
    """Accuracies by where the run stands: epoch 1's end 0.5, any mid-epoch cut 0.9,
    epoch 2's end 0.3 (the cut's evaluation beats a best no later epoch beats)."""
    evaluate = Trainer._evaluate

    def scripted(self):
        result = evaluate(self)
        if self.step_in_epoch < self.steps_per_epoch:
            acc = CUT_ACC
        else:
            acc = FIRST_ACC if self.epoch == 0 else SECOND_ACC
            if stop_after_first and self.epoch == 0:
                self._stop_signal = "SIGINT"  # Ctrl-C while epoch 1 is evaluated
        return dataclasses.replace(result, acc=acc)

    monkeypatch.setattr(Trainer, "_evaluate", scripted)


def test_a_cut_that_beat_an_earlier_best_is_undone_by_the_resume(tmp_path, monkeypatch):
    _scripted_evaluations(monkeypatch)
    straight = small_run(tmp_path, monkeypatch, epochs=2, run_name="straight")
    assert straight.best_test_acc == FIRST_ACC

    # The same run stopped by Ctrl-C as epoch 2 begins, resumed with a budget that runs
    # out after epoch 2's first step, then resumed with the budget lifted.
    _scripted_evaluations(monkeypatch, stop_after_first=True)
    with pytest.raises(TrainingInterrupted):
        small_run(tmp_path, monkeypatch, epochs=2, run_name="cut")
    _scripted_evaluations(monkeypatch)
    folder = tmp_path / "cut" / "checkpoints"
    epoch_1_best = (folder / "best.safetensors").read_bytes()
    _, state = ckpt.load_checkpoint(folder / "last.safetensors")
    cut = resume(tmp_path / "cut", max_time=state["train_time"] + 1e-9)
    assert cut.stopped == "max_time" and cut.best_test_acc == CUT_ACC
    # The cut's weights are the best for now; epoch 1's wait for a resume.
    assert (folder / "best-before-cut.safetensors").read_bytes() == epoch_1_best
    assert (folder / "best.safetensors").read_bytes() != epoch_1_best

    resumed = resume(tmp_path / "cut", max_time=0)
    assert resumed.stopped is None
    assert resumed.best_test_acc == straight.best_test_acc == FIRST_ACC
    assert (folder / "best.safetensors").read_bytes() == epoch_1_best
    a, state_a = ckpt.load_checkpoint(tmp_path / "straight" / "checkpoints" / "best.safetensors")
    b, state_b = ckpt.load_checkpoint(folder / "best.safetensors")
    assert (state_b["epoch"], state_b["step_in_epoch"]) == (state_a["epoch"], 0) == (1, 0)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert not list(folder.glob("best-before-cut*"))  # no resume will want them now
