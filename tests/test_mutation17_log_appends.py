"""Tests from hand mutation testing (mutation17) of a run's logs (metrics.csv,
class_metrics.jsonl): appends made durable, torn and damaged lines cut, the lines a held
file kept aside (``NAME.pending``) read once and moved in whole."""

from __future__ import annotations

import json
import os

import pytest

from cnnlab.train import log_appends
from cnnlab.train.class_metrics_file import class_metrics
from cnnlab.train.log_appends import LogAppends, drop_torn_tail, kept_file
from cnnlab.train.runlog import METRIC_COLUMNS, MetricsLog, RunLogWarning


def _row(epoch: int) -> dict:
    return {"epoch": epoch, "train_loss": 1.0 / epoch, "test_acc": 0.5}


def _csv(path, epochs, header=True) -> None:
    lines = [",".join(METRIC_COLUMNS)] if header else []
    lines += [",".join(str(_row(e).get(k, "")) for k in METRIC_COLUMNS) for e in epochs]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_an_appended_row_is_on_disk_before_the_append_returns(tmp_path, monkeypatch):
    # The epoch's checkpoint comes next: a power cut after it must not find its row
    # missing (fsync), nor only in Python's buffer when fsync ran (flush first).
    path = tmp_path / "metrics.csv"
    synced = []
    monkeypatch.setattr(log_appends.os, "fsync",
                        lambda fd: synced.append(os.fstat(fd).st_size))
    appends = LogAppends(path, "h\n", "row", RunLogWarning)
    appends.append(1, "r1\n")
    assert synced == [len(b"h\nr1\n")] == [path.stat().st_size]


def test_rows_go_in_once_and_in_order_after_the_header_once(tmp_path):
    path = tmp_path / "metrics.csv"
    appends = LogAppends(path, "h\n", "row", RunLogWarning)
    appends.append(1, "r1\n")
    appends.append(2, "r2\n")
    LogAppends(path, "h\n", "row", RunLogWarning).append(3, "r3\n")  # a resume's
    assert path.read_text(encoding="utf-8") == "h\nr1\nr2\nr3\n"


def test_a_whole_log_is_left_byte_for_byte(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"h\nr1\nr2\n")
    drop_torn_tail(path, RunLogWarning)
    assert path.read_bytes() == b"h\nr1\nr2\n"  # its line end kept: the next row not glued


def test_a_torn_last_line_is_cut_even_when_it_parses(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"h\nr1\nr2\n0.8")  # of 0.866: a number, but not the one written
    drop_torn_tail(path, RunLogWarning)
    assert path.read_bytes() == b"h\nr1\nr2\n"


def test_a_line_that_is_no_text_is_dropped_and_said(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"h\nr1\n\xff\xfe\nr2\n")
    with pytest.warns(RunLogWarning, match="line 3: dropped a line that is not text"):
        drop_torn_tail(path, RunLogWarning)
    assert path.read_bytes() == b"h\nr1\nr2\n"


def test_rows_kept_aside_are_read_once_each_after_the_files_own(tmp_path):
    # A .pending left behind once its rows went in (its removal refused, Windows):
    # epoch 2 is in both, and is the file's; epoch 3 only waited aside.
    path = tmp_path / "metrics.csv"
    _csv(path, [1, 2])
    _csv(kept_file(path), [2, 3])
    assert [r["epoch"] for r in MetricsLog.read(path)] == [1, 2, 3]


def test_a_resume_moves_the_class_lines_kept_aside_into_the_log_whole(tmp_path):
    classes = tmp_path / "class_metrics.jsonl"
    line = {"per_class_acc": {"a": 0.5, "b": 1.0}, "confusion": [[1, 1], [0, 2]]}
    classes.write_text(json.dumps({"epoch": 1, **line}) + "\n", encoding="utf-8")
    kept_file(classes).write_text(
        "".join(json.dumps({"epoch": e, **line}) + "\n" for e in (1, 2, 3)), encoding="utf-8")
    _csv(tmp_path / "metrics.csv", [1, 2, 3])
    MetricsLog(tmp_path, tensorboard=False).close()
    assert not kept_file(classes).exists()
    lines = classes.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]
    assert class_metrics(classes, 3, 2)["confusion"] == [[1, 1], [0, 2]]


def test_a_resume_drops_the_rows_and_class_lines_past_its_checkpoint(tmp_path):
    # Killed in epoch 3 after its row was logged but before its checkpoint: the resume
    # trains epoch 3 again, and its row must not be there twice (nor its class line).
    _csv(tmp_path / "metrics.csv", [1, 2, 3])
    classes = tmp_path / "class_metrics.jsonl"
    line = {"per_class_acc": {"a": 0.5, "b": 1.0}, "confusion": [[1, 1], [0, 2]]}
    classes.write_text("".join(json.dumps({"epoch": e, **line}) + "\n" for e in (1, 2, 3)),
                       encoding="utf-8")
    log = MetricsLog(tmp_path, tensorboard=False)
    log.truncate_after(2)
    log.append(_row(3))
    log.close()
    assert [r["epoch"] for r in MetricsLog.read(tmp_path / "metrics.csv")] == [1, 2, 3]
    assert class_metrics(classes, 3, 2) is None
    assert class_metrics(classes, 2, 2) is not None


def test_a_new_logs_header_names_its_columns_in_the_rows_order(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    log.close()
    (read,) = MetricsLog.read(tmp_path / "metrics.csv")
    assert (read["epoch"], read["train_loss"], read["test_acc"]) == (1, 1.0, 0.5)


def test_a_read_only_log_on_windows_is_refused_at_once_not_kept_aside(tmp_path, monkeypatch):
    # Marked read-only, not held by a program for a moment: no wait helps, no .pending
    # file is said to keep its rows; the run ends on it, as on POSIX.
    import sys
    import time

    from test_runlog_held_windows import Holder

    holder, slept = Holder(monkeypatch), []
    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(sys, "platform", "win32")
    path = tmp_path / "metrics.csv"
    appends = LogAppends(path, "h\n", "row", RunLogWarning)
    appends.append(1, "r1\n")
    path.chmod(0o444)
    holder.held.add(str(path))
    with pytest.raises(PermissionError):
        appends.append(2, "r2\n")
    assert (slept, appends.waiting, kept_file(path).exists()) == ([], [], False)


def test_rows_kept_aside_from_a_held_log_read_back_without_a_damage_warning(tmp_path,
                                                                            monkeypatch):
    import sys
    import time
    import warnings

    from test_runlog_held_windows import Holder

    holder = Holder(monkeypatch)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    monkeypatch.setattr(sys, "platform", "win32")
    log = MetricsLog(tmp_path, tensorboard=False)
    log.append(_row(1))
    holder.held.add(str(tmp_path / "metrics.csv"))  # Excel opens it
    with pytest.warns(RunLogWarning, match="held open by another program"):
        log.append(_row(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunLogWarning)  # its header kept: not "damaged"
        assert [r["epoch"] for r in MetricsLog.read(tmp_path / "metrics.csv")] == [1, 2]
