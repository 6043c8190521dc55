"""A run killed after an epoch's metrics.csv row and class metrics were written, before
that epoch's `last` checkpoint, resumes with each epoch logged once: the resume trains
the killed epoch again, so its first row must go.

Mutation testing (session 38, mutant R22: the log truncated after the checkpoint's epoch
+ 1) found no test of a plain kill there, with an intact log; test_chaos_log_past_checkpoint
covers it only with a damaged row.
"""

from __future__ import annotations

import csv
import json

import pytest
from resume_helpers import small_run
from test_chaos_log_past_checkpoint import Killed, killed_before_the_checkpoint_of

from cnnlab.train import resume
from cnnlab.train.resumable import Resumable

REAL_SAVE = Resumable._save


@pytest.mark.parametrize("killed_at", [2, 3])
def test_an_epoch_killed_before_its_checkpoint_is_logged_once_after_the_resume(
        tmp_path, monkeypatch, killed_at):
    killed_before_the_checkpoint_of(killed_at, monkeypatch)
    with pytest.raises(Killed):
        small_run(tmp_path, monkeypatch, epochs=3, run_name="run")
    run = tmp_path / "run"
    with open(run / "metrics.csv", encoding="utf-8", newline="") as log:
        before = [int(row["epoch"]) for row in csv.DictReader(log)]
    assert before == list(range(1, killed_at + 1))  # the killed epoch's row is there

    monkeypatch.setattr(Resumable, "_save", REAL_SAVE)
    result = resume(run)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    with open(run / "metrics.csv", encoding="utf-8", newline="") as log:
        assert [int(row["epoch"]) for row in csv.DictReader(log)] == [1, 2, 3]
    logged = [json.loads(line)["epoch"] for line in
              (run / "class_metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert logged == [1, 2, 3]
