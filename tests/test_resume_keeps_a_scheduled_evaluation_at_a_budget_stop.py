"""A time budget that runs out at the end of an epoch the eval_every schedule evaluates
anyway: that evaluation is the schedule's, so a resume keeps its row's test results and
class metrics (only an evaluation the stop alone made is forgotten)."""

import math

from resume_helpers import small_run

from cnnlab.train import resume
from cnnlab.train.distributed import StopPoints
from cnnlab.train.runlog import MetricsLog


def test_a_budget_stop_at_a_scheduled_epochs_end_keeps_its_evaluation(tmp_path, monkeypatch):
    straight = small_run(tmp_path, monkeypatch, epochs=2, run_name="straight")
    with monkeypatch.context() as patch:  # out of time at epoch 1's last step
        check = StopPoints.check
        patch.setattr(StopPoints, "check", lambda self, stepped, last, signalled, _, loss:
                      check(self, stepped, last, signalled, last, loss))
        stopped = small_run(tmp_path, monkeypatch, epochs=2, run_name="stopped", max_time=1e6)
    assert stopped.stopped == "max_time" and len(stopped.history) == 1
    resume(tmp_path / "stopped")
    rows = MetricsLog.read(tmp_path / "stopped" / "metrics.csv")
    assert not math.isnan(rows[0]["test_acc"])
    assert [r["test_acc"] for r in rows] == [r["test_acc"] for r in straight.history]
