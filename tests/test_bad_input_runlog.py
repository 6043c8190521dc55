"""A run's logs damaged as disks and hands damage them: what a resume makes of them.

Each case once ended in a traceback, or in rows lost, when the run was resumed."""

import errno
import json
import warnings

import pytest

from cnnlab.train.runlog import METRIC_COLUMNS, MetricsLog, RunLogWarning

HEADER = ",".join(METRIC_COLUMNS)


def _row(epoch: int) -> str:
    return ",".join([str(epoch)] + ["0.5"] * (len(METRIC_COLUMNS) - 1))


def test_a_metrics_line_that_is_not_text_costs_that_row_not_the_resume(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(f"{HEADER}\n{_row(1)}\n".encode() + bytes(range(128, 256)) + b"\n"
                     + f"{_row(2)}\n".encode())
    # It ended the resume in "'utf-8' codec can't decode byte 0x80", naming no file.
    with pytest.warns(RunLogWarning, match=r"metrics\.csv line 3: dropped a line that is "
                                           r"not text"):
        log = MetricsLog(tmp_path, tensorboard=False)
    assert [r["epoch"] for r in log.rows] == [1, 2]
    assert [r["epoch"] for r in MetricsLog.read(path)] == [1, 2]


def test_reading_a_metrics_file_with_bytes_that_are_not_text_keeps_its_other_rows(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(f"{HEADER}\n{_row(1)}\n2,\xff\xfe\n{_row(3)}\n".encode("latin-1"))
    with pytest.warns(RunLogWarning, match=r"line 3: dropped a row that is not text"):
        rows = MetricsLog.read(path)  # compare, read_result: no log is written
    assert [r["epoch"] for r in rows] == [1, 3]


def test_a_metrics_file_whose_header_is_damaged_keeps_its_rows_and_gets_the_header_back(
        tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"\x00\x01\x02\x03\x04\x05\x06\x07\n" + f"{_row(1)}\n{_row(2)}\n".encode())
    # Its rows were read under the damaged line's names: all dropped, and the next rows
    # appended below a header that was none (each dropped again by the next resume).
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        log = MetricsLog(tmp_path, tensorboard=False)
    # Said once: the damaged line was also read as a row and dropped with a second warning.
    assert [str(w.message).split(": ", 1)[0].rsplit("/", 1)[-1] for w in said] == [
        "metrics.csv line 1 is no header (damaged)"]
    log.append({"epoch": 3, "test_acc": 0.75})
    assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert [r["epoch"] for r in MetricsLog.read(path)] == [1, 2, 3]


def test_a_header_of_bytes_that_are_no_text_costs_no_row(tmp_path):
    # The line that is no text went first; then epoch 1's row, now the first line, was
    # taken for the damaged header and dropped (review-diff2 B1).
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"\xff\xfe\x80damaged\n" + f"{_row(1)}\n{_row(2)}\n".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what was dropped is said (tested above)
        log = MetricsLog(tmp_path, tensorboard=False)
    assert [r["epoch"] for r in log.rows] == [1, 2]
    log.append({"epoch": 3, "test_acc": 0.75})
    assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert [r["epoch"] for r in MetricsLog.read(path)] == [1, 2, 3]


def test_a_class_metrics_line_that_is_not_text_is_dropped_not_fatal(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    good = [json.dumps({"epoch": e, "per_class_acc": {"a": 0.5}, "confusion": [[1]]})
            for e in (1, 2)]
    path.write_bytes(f"{good[0]}\n".encode() + b"\x80\x81\x82\n" + f"{good[1]}\n".encode())
    (tmp_path / "metrics.csv").write_text(f"{HEADER}\n{_row(1)}\n{_row(2)}\n",
                                          encoding="utf-8")
    with pytest.warns(RunLogWarning, match=r"class_metrics\.jsonl line 2: dropped a line"):
        log = MetricsLog(tmp_path, tensorboard=False)
    log.truncate_after(1)  # a resume from epoch 1: failed with UnicodeDecodeError
    assert path.read_text(encoding="utf-8") == f"{good[0]}\n"


@pytest.mark.parametrize("name", ["metrics.csv", "class_metrics.jsonl"])
def test_a_folder_with_a_log_s_name_is_named_with_the_fix(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(IsADirectoryError, match=rf"{name} is a folder, not the run's log: "
                                                r"move it away"):
        MetricsLog(tmp_path, tensorboard=False)  # was "[Errno 21] Is a directory"


def test_a_run_folder_that_cannot_be_written_is_refused_before_tensorboard_starts(
        tmp_path, monkeypatch):
    import cnnlab.atomic as atomic

    def read_only(path, mode=0o666):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    # TensorBoard's writer thread failed first, its traceback printed, then the error.
    monkeypatch.setattr(atomic, "new_temp_file", read_only)
    with pytest.raises(OSError, match=r"cannot write in the run folder .*\(read-only file "
                                      r"system\).*copy the run"):
        MetricsLog(tmp_path, tensorboard=True)
    assert not list(tmp_path.iterdir())  # no events file begun


def test_a_class_metrics_line_that_is_not_text_costs_that_line_not_the_report(tmp_path):
    from cnnlab.train.class_metrics_file import class_metrics

    record = {"epoch": 1, "per_class_acc": {"a": 1.0, "b": 0.5},
              "confusion": [[1, 0], [1, 1]]}
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(json.dumps(record).encode() + b"\n" + bytes(range(128, 256)) + b"\n")
    # Read strictly, the report and read_result stopped on "'utf-8' codec can't decode".
    assert class_metrics(path, 1, 2) == record


def test_a_last_row_cut_short_by_a_kill_is_not_read_as_numbers(tmp_path):
    # A write cut mid-row (a kill, a full disk) ends the file without a line end: its
    # test_acc "0.8" was read as epoch 3's accuracy (of 0.866) by read_result and the
    # report, while a resume drops that line and trains epoch 3 again.
    from cnnlab.train.run import read_result

    path = tmp_path / "metrics.csv"
    path.write_text(f"{HEADER}\n{_row(1)}\n{_row(2)}\n3,0.38,0.87,0.40,0.8",
                    encoding="utf-8")
    with pytest.warns(RunLogWarning, match=r"metrics\.csv line 4: left out a last line "
                                           r"with no line end"):
        rows = MetricsLog.read(path)
    assert [r["epoch"] for r in rows] == [1, 2]
    (tmp_path / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    (tmp_path / "summary.json").write_text(json.dumps(
        {"final": {"epoch": 2}, "best_test_acc": 0.5, "train_time_s": 1.0}), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunLogWarning)  # said above
        assert [r["epoch"] for r in read_result(tmp_path).history] == [1, 2]


def test_a_resume_drops_later_class_metrics_without_parsing_every_line(tmp_path, monkeypatch):
    # A run of 1,000 classes writes 3 MB a line: a resume read the file whole and parsed
    # every line to learn its epoch (seconds, and the file's size in memory).
    path = tmp_path / "class_metrics.jsonl"
    lines = [json.dumps({"epoch": e, "per_class_acc": {"a": 0.5}, "confusion": [[1]]})
             for e in (1, 2, 3)]
    path.write_text("".join(f"{line}\n" for line in [*lines, '{"by": "hand", "epoch": 2}']),
                    encoding="utf-8")
    (tmp_path / "metrics.csv").write_text(f"{HEADER}\n{_row(1)}\n{_row(2)}\n{_row(3)}\n",
                                          encoding="utf-8")
    log = MetricsLog(tmp_path, tensorboard=False)
    parsed = []
    loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: parsed.append(text) or loads(text))
    log.truncate_after(2)
    assert path.read_text(encoding="utf-8") == f"{lines[0]}\n{lines[1]}\n" + \
        '{"by": "hand", "epoch": 2}\n'
    assert parsed == ['{"by": "hand", "epoch": 2}']  # only the line not written as cnnlab does
