"""Tests from hand mutation testing (mutation17) of reading class_metrics.jsonl back
(cnnlab/train/class_metrics_file.py): a torn last line, the first line, epochs past 9,
lines written by hand, damaged bytes, and the lines a held file kept aside."""

from __future__ import annotations

import json
import math

from cnnlab.train.class_metrics_file import class_metrics
from cnnlab.train.log_appends import kept_file


def _record(epoch: int, acc: float = 0.5) -> dict:
    return {"epoch": epoch, "per_class_acc": {"a": acc, "b": 1.0},
            "confusion": [[1, 1], [0, 2]]}


def _line(epoch: int, acc: float = 0.5) -> bytes:
    return (json.dumps(_record(epoch, acc)) + "\n").encode()


def test_a_last_line_without_its_line_end_is_no_record_even_where_it_parses(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(_line(1) + _line(2)[:-1])
    assert class_metrics(path, 2, 2) is None
    assert class_metrics(path, 1, 2)["epoch"] == 1


def test_the_only_line_of_a_one_epoch_run_is_read(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(_line(1))
    assert class_metrics(path, 1, 2)["per_class_acc"] == {"a": 0.5, "b": 1.0}


def test_epochs_past_nine_are_told_apart(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(b"".join(_line(e, acc=e / 100) for e in range(1, 13)))
    assert class_metrics(path, 12, 2)["per_class_acc"]["a"] == 0.12
    assert class_metrics(path, 1, 2)["per_class_acc"]["a"] == 0.01
    assert class_metrics(path, 10, 2)["per_class_acc"]["a"] == 0.10


def test_a_line_written_by_hand_with_its_keys_in_another_order_counts_for_its_epoch(
        tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    record = _record(2, acc=0.25)
    by_hand = json.dumps({"confusion": record["confusion"], "epoch": 2,
                          "per_class_acc": record["per_class_acc"]})
    path.write_bytes(_line(1) + by_hand.encode() + b"\n")
    assert class_metrics(path, 2, 2)["per_class_acc"]["a"] == 0.25
    assert class_metrics(path, 1, 2)["per_class_acc"]["a"] == 0.5  # not epoch 2's


def test_a_class_without_test_images_reads_back_as_nan(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(json.dumps({**_record(1), "per_class_acc": {"a": None, "b": 1.0}})
                     .encode() + b"\n")
    assert math.isnan(class_metrics(path, 1, 2)["per_class_acc"]["a"])


def test_lines_that_are_no_record_or_no_text_are_passed_over(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(_line(1) + b"[1, 2]\n" + b'{"epoch": 1, \xff\xfe}\n' + b"\n")
    assert class_metrics(path, 1, 2)["epoch"] == 1


def test_an_epoch_the_log_lacks_is_read_from_the_lines_kept_aside(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    path.write_bytes(_line(1))
    kept_file(path).write_bytes(_line(1, acc=0.9) + _line(2, acc=0.75))
    assert class_metrics(path, 2, 2)["per_class_acc"]["a"] == 0.75
    assert class_metrics(path, 1, 2)["per_class_acc"]["a"] == 0.5  # the log's wins
