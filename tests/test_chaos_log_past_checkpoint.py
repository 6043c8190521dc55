"""A resume drops every metrics.csv row and class_metrics.jsonl line past its checkpoint,
also where metrics.csv has lost a row (damaged, and dropped with a warning): counted by
rows, the log looked no longer than the checkpoint and the killed epoch's lines stayed,
so the epoch trained again was logged twice (found by killing runs at random points)."""

import json

import pytest
from resume_helpers import small_run

from cnnlab.train import resume
from cnnlab.train.resumable import Resumable
from cnnlab.train.runlog import RunLogWarning

REAL_SAVE = Resumable._save


class Killed(BaseException):
    """Stands for a kill -9: nothing after it runs."""


def killed_before_the_checkpoint_of(epoch: int, monkeypatch) -> None:
    def save(self, tag, eval_weights=False):
        if self.epoch == epoch:  # its row and class metrics written, its checkpoint not
            raise Killed
        REAL_SAVE(self, tag, eval_weights)

    monkeypatch.setattr(Resumable, "_save", save)


@pytest.fixture(scope="module")
def reference_loss(tmp_path_factory) -> float:
    """The final train loss of the run below trained through (deterministic): both cases
    compare with it, and trained it alike. One xdist group, so one worker trains it."""
    with pytest.MonkeyPatch.context() as patch:
        run = small_run(tmp_path_factory.mktemp("ref"), patch, epochs=3, run_name="run")
    return run.final["train_loss"]


@pytest.mark.xdist_group("chaos_log_past_checkpoint")
@pytest.mark.parametrize("damaged", [1, 2])
def test_the_killed_epoch_is_logged_once_when_a_row_was_lost(tmp_path, monkeypatch, damaged,
                                                             reference_loss):
    killed_before_the_checkpoint_of(2, monkeypatch)
    with pytest.raises(Killed):
        small_run(tmp_path, monkeypatch, epochs=3, run_name="run")
    monkeypatch.setattr(Resumable, "_save", REAL_SAVE)
    run = tmp_path / "run"
    metrics = run / "metrics.csv"
    lines = metrics.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[damaged] = "damaged" + lines[damaged][1:]  # its epoch no number: dropped
    metrics.write_text("".join(lines), encoding="utf-8")

    with pytest.warns(RunLogWarning) as said:  # one recorder: pytest 7 nested none
        result = resume(run)
    said = [str(w.message) for w in said]
    assert any("dropped a row whose epoch is not a whole number" in w for w in said), said
    # Epoch 1's row dropped is also said lost from the history (chaos42)
    assert any("no row for epoch 1," in w for w in said) == (damaged == 1), said
    assert [r["epoch"] for r in result.history] == ([2, 3] if damaged == 1 else [1, 2, 3])
    logged = [json.loads(line)["epoch"] for line in
              (run / "class_metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert logged == [1, 2, 3]
    assert result.final["train_loss"] == reference_loss
