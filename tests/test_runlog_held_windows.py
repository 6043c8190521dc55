"""A run's logs on Windows, recreated on Linux: a log file another program holds open
(Excel showing metrics.csv as training goes on, a sync client for a moment) refuses the
epoch's append with PermissionError. That ended training before the epoch's checkpoint,
losing its work; now the rows wait and go in once the file is free, and a resume finds
every epoch's row. POSIX still stops on a refusal at once."""

from __future__ import annotations

import errno
import json
import os
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnlab.train.runlog import MetricsLog, RunLogWarning

SHARING_VIOLATION = "The process cannot access the file because it is being used by another process"


class Holder:
    """Another program holding files: opening them to write, and replacing them, refused."""

    def __init__(self, monkeypatch):
        self.held: set[str] = set()
        self.refusals = 0
        real_open, real_replace = os.open, os.replace

        def open_(path, flags, *args, **kw):
            if str(path) in self.held and flags & (os.O_WRONLY | os.O_RDWR):
                self._refuse(path)
            return real_open(path, flags, *args, **kw)

        def replace(src, dst):
            if str(dst) in self.held:
                self._refuse(dst)
            real_replace(src, dst)

        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "replace", replace)

    def _refuse(self, path):
        self.refusals += 1
        raise PermissionError(errno.EACCES, SHARING_VIOLATION, str(path))


@pytest.fixture
def holder(monkeypatch) -> Holder:
    return Holder(monkeypatch)


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The waits between tries, recorded rather than slept (the tests stay fast)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")


def _row(epoch: int) -> dict:
    return {"epoch": epoch, "train_loss": 1.0 / epoch, "test_acc": 0.5 + epoch / 100}


def _epochs(path: Path) -> list[int]:
    return [row["epoch"] for row in MetricsLog.read(path)]


def _file_epochs(path: Path) -> list[int]:
    """The epochs metrics.csv itself holds (read() adds those kept beside it)."""
    return [int(line.split(",")[0]) for line in
            path.read_text(encoding="utf-8").splitlines()[1:]]


def test_a_metrics_file_held_by_excel_keeps_its_rows_until_it_is_closed(
        tmp_path, holder, waits, windows):
    metrics, kept = tmp_path / "metrics.csv", tmp_path / "metrics.csv.pending"
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    holder.held.add(str(metrics))  # Excel opens it
    with pytest.warns(RunLogWarning) as said:
        log.append(_row(2))
    words = " ".join(str(w.message) for w in said)
    assert str(metrics) in words and "another program" in words and "Excel" in words
    assert "close it" in words.lower() and "copy" in words and str(kept) in words
    assert 0.5 < sum(waits) <= 2  # a moment's wait for a sync client, then on
    waits.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not every epoch
        log.append(_row(3))
        log.append_class_metrics(3, ["a", "b"], [0.5, 1.0], [[1, 1], [0, 2]])
    assert waits == []  # known held: no more seconds spent waiting each epoch
    assert _file_epochs(metrics) == [1]
    assert _epochs(metrics) == [1, 2, 3]  # readers see the rows kept beside it
    assert (tmp_path / "class_metrics.jsonl").is_file()  # not held: written as ever
    holder.held.clear()  # Excel closed
    log.append(_row(4))
    assert _file_epochs(metrics) == [1, 2, 3, 4]
    assert not kept.exists()
    log.close()


def test_a_run_ending_while_held_says_where_the_rows_are_and_a_resume_takes_them_in(
        tmp_path, holder, waits, windows):
    metrics, kept = tmp_path / "metrics.csv", tmp_path / "metrics.csv.pending"
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    holder.held.add(str(metrics))
    with pytest.warns(RunLogWarning):
        log.append(_row(2))
        log.append(_row(3))
    with pytest.warns(RunLogWarning, match=r"still held .* epochs 2-3's rows are in .*"
                                           r"metrics\.csv\.pending instead"):
        log.close()
    assert _epochs(metrics) == [1, 2, 3]
    # A resume while it is still held is refused, the program named, and nothing lost.
    with pytest.raises(PermissionError, match="another program"):
        MetricsLog(tmp_path, tensorboard=False)
    assert kept.is_file()
    holder.held.clear()
    resumed = MetricsLog(tmp_path, tensorboard=False)
    assert [row["epoch"] for row in resumed.rows] == [1, 2, 3]
    assert _file_epochs(metrics) == [1, 2, 3] and not kept.exists()


def test_a_kill_while_held_loses_no_row_the_checkpoint_reached(tmp_path, holder, waits, windows):
    # The row goes in before the epoch's checkpoint: kept only in memory, a kill after
    # that checkpoint lost it.
    metrics = tmp_path / "metrics.csv"
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    log.append_class_metrics(1, ["a"], [1.0], [[2]])
    holder.held.update({str(metrics), str(tmp_path / "class_metrics.jsonl")})
    with pytest.warns(RunLogWarning):
        log.append(_row(2))
        log.append_class_metrics(2, ["a"], [0.5], [[1]])
    holder.held.clear()  # killed here (no close), the file let go of later
    resumed = MetricsLog(tmp_path, tensorboard=False)
    assert [row["epoch"] for row in resumed.rows] == [1, 2]
    lines = (tmp_path / "class_metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert [line[:11] for line in lines] == ['{"epoch": 1', '{"epoch": 2']
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class_metrics.jsonl", "metrics.csv"]


def test_a_file_held_for_a_moment_is_written_without_a_word(tmp_path, monkeypatch, waits,
                                                            windows):
    log = MetricsLog(tmp_path, tensorboard=False)
    holder = Holder(monkeypatch)
    holder.held.add(str(tmp_path / "metrics.csv"))
    real_refuse = holder._refuse

    def refuse_twice(path):  # a sync client that lets go by the third try
        if holder.refusals == 2:
            holder.held.clear()
            return
        real_refuse(path)

    holder._refuse = refuse_twice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log.append(_row(1))
    assert _file_epochs(tmp_path / "metrics.csv") == [1] and len(waits) == 2


def test_posix_still_stops_on_a_refusal_at_once(tmp_path, holder, waits, monkeypatch):
    # There it is the file's or the folder's permissions, not a passing hold.
    monkeypatch.setattr(sys, "platform", "linux")
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    holder.held.add(str(tmp_path / "metrics.csv"))
    with pytest.raises(PermissionError, match=SHARING_VIOLATION):
        log.append(_row(2))
    assert waits == [] and holder.refusals == 1
    log.close()  # the run's end says nothing more, and tries no more
    assert holder.refusals == 1
    assert not (tmp_path / "metrics.csv.pending").exists()


def test_training_goes_on_past_a_held_metrics_file_to_its_checkpoint_and_report(
        tmp_path, monkeypatch, waits):
    from resume_helpers import small_run

    import cnnlab.train.log_appends as log_appends

    # Windows for the logs alone: the rest of a run on Linux takes other paths there.
    monkeypatch.setattr(log_appends, "sys", SimpleNamespace(platform="win32"))
    holder = Holder(monkeypatch)
    real_append = MetricsLog.append

    def append(self, row):  # Excel opens metrics.csv after the first epoch
        if row["epoch"] == 2:
            holder.held.add(str(self.path))
        real_append(self, row)

    monkeypatch.setattr(MetricsLog, "append", append)
    with pytest.warns(RunLogWarning) as said:
        result = small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    said = [str(w.message) for w in said]
    assert any("held open by another program" in words for words in said), said
    assert any("still held by another program as the run ends" in words for words in said)
    run = tmp_path / "run"
    # It stopped at epoch 2's row, before its checkpoint: that epoch's work was lost.
    assert json.loads((run / "checkpoints" / "last.json").read_text(encoding="utf-8"))[
        "epoch"] == 2
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert (run / "report.html").is_file() and _epochs(run / "metrics.csv") == [1, 2]
