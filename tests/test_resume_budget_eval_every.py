"""A time budget that stops a run at the end of an epoch ``eval_every`` skips: the run,
as it stands, is evaluated there; resumed, it records the evaluations the schedule says,
as a run never stopped does."""

import dataclasses
import json
import math

import pytest
from resume_helpers import small_run

from cnnlab.train import checkpoint as ckpt
from cnnlab.train import resume
from cnnlab.train.distributed import StopPoints
from cnnlab.train.runlog import MetricsLog
from cnnlab.train.trainer import Trainer


def _evaluations_score_epoch_1_best(monkeypatch):
    """Epoch 1's evaluation 90%, every later one 50%: epoch 1's, made only by the stop,
    becomes the best, where the uninterrupted run's best is epoch 2's."""
    evaluate = Trainer._evaluate
    monkeypatch.setattr(Trainer, "_evaluate", lambda self: dataclasses.replace(
        evaluate(self), acc=0.9 if self.epoch == 0 else 0.5))


def _record(run):
    rows = MetricsLog.read(run / "metrics.csv")
    lines = (run / "class_metrics.jsonl").read_text(encoding="utf-8").splitlines()
    best = ckpt.read_state(run / "checkpoints" / "best.safetensors")
    return ([not math.isnan(r["test_acc"]) for r in rows],
            [json.loads(line)["epoch"] for line in lines],
            (best["epoch"], best["step_in_epoch"], best["best_test_acc"]))


def test_a_budget_stop_at_a_skipped_epochs_end_is_not_kept_as_an_evaluation(
        tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _evaluations_score_epoch_1_best(monkeypatch)
    plan = dict(epochs=3, eval_every=2)
    small_run(tmp_path, monkeypatch, **plan, run_name="straight")
    with monkeypatch.context() as patch:  # out of time at epoch 1's last step
        check = StopPoints.check
        patch.setattr(StopPoints, "check", lambda self, stepped, last, signalled, _, loss:
                      check(self, stepped, last, signalled, last, loss))
        stopped = small_run(tmp_path, monkeypatch, **plan, run_name="stopped", max_time=1e6)
    assert stopped.stopped == "max_time" and len(stopped.history) == 1
    # As it stands, the stopped run is evaluated where it stopped.
    assert _record(tmp_path / "stopped") == ([True], [1], (1, 0, 0.9))
    resumed = resume(tmp_path / "stopped")
    straight = _record(tmp_path / "straight")
    assert straight == ([False, True, True], [2, 3], (2, 0, 0.5))
    assert _record(tmp_path / "stopped") == straight
    assert resumed.best_test_acc == 0.5
    events = EventAccumulator(str(tmp_path / "stopped"))
    events.Reload()
    assert [e.step for e in events.Scalars("test/acc")] == [2, 3]
    assert [e.step for e in events.Scalars("train/acc")] == [1, 2, 3]
    assert not list((tmp_path / "stopped" / "checkpoints").glob("best-before-cut*"))
    # Its clocks stay: the evaluation's time was spent.
    assert MetricsLog.read(tmp_path / "stopped" / "metrics.csv")[0]["eval_time_s"] > 0


def test_forgetting_an_evaluation_leaves_the_other_epochs_records(tmp_path):
    from cnnlab.train.runlog import RunLogWarning

    log = MetricsLog(tmp_path, tensorboard=False)
    for epoch in (1, 2):
        log.append({"epoch": epoch, "test_acc": 0.5, "test_loss": 1.0})
        log.append_class_metrics(epoch, ["a"], [0.5], [[1]])
    path = tmp_path / "class_metrics.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    with pytest.warns(RunLogWarning, match="dropped a line"):  # and it is dropped
        log.forget_evaluation(1)
    rows = MetricsLog.read(tmp_path / "metrics.csv")
    assert [(r["epoch"], math.isnan(r["test_acc"])) for r in rows] == [(1, True), (2, False)]
    assert [json.loads(line)["epoch"] for line in path.read_text(
        encoding="utf-8").splitlines()] == [2]
