"""A resume whose metrics.csv lost rows its checkpoint trained (cut short, emptied or
removed by hand; found by truncating a run's files) says which epochs are lost: it went
on with a history that began after the gap, no word said."""

import pytest
from resume_helpers import small_run

from cnnlab.train import resume
from cnnlab.train.runlog import RunLogWarning


def test_rows_lost_before_the_checkpoint_are_named(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    metrics = tmp_path / "run" / "metrics.csv"
    metrics.write_text(metrics.read_text(encoding="utf-8").splitlines()[0] + "\n",
                       encoding="utf-8")  # the header alone: epochs 1 and 2 lost
    with pytest.warns(RunLogWarning, match=r"metrics.csv has no row for epochs 1 and 2, "
                                           "which its checkpoint trained"):
        result = resume(tmp_path / "run", extra_epochs=1)
    assert [r["epoch"] for r in result.history] == [3]
