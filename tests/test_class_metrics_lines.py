"""Which class_metrics.jsonl lines count as an epoch's record when read back: a mutation
test of cnnlab/train/class_metrics_file.py found these checks could go with the suite
still passing (a line of the wrong shape or type, a class without test images)."""

from __future__ import annotations

import json
import math

from cnnlab.train.class_metrics_file import class_metrics


def _record(epoch: int) -> dict:
    return {"epoch": epoch, "per_class_acc": {"a": 0.5, "b": 1.0},
            "confusion": [[1, 1], [0, 2]]}


def _write(path, *lines: str) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_a_line_of_the_wrong_shape_is_passed_over_for_the_epochs_good_one(tmp_path):
    # Each a later line of epoch 1, each wrong for 2 classes: the report would draw
    # a ragged matrix or name a class the matrix lacks; the earlier good line counts.
    good = _record(1)
    ragged = {**good, "confusion": [[1, 1], [2]]}
    one_class = {**good, "per_class_acc": {"a": 0.5}}
    path = tmp_path / "class_metrics.jsonl"
    for bad in (ragged, one_class):
        _write(path, json.dumps(good), json.dumps(bad))
        assert class_metrics(path, 1, 2) == good


def test_a_line_that_is_json_but_no_object_is_passed_over(tmp_path):
    # Edited by hand: a list, a number, a string. Without its check the TypeError would
    # stop the report and read_result; the run's other lines still count.
    path = tmp_path / "class_metrics.jsonl"
    _write(path, json.dumps(_record(1)), "[1, 2]", "3", '"epoch 1"')
    assert class_metrics(path, 1, 2) == _record(1)


def test_a_class_without_test_images_reads_back_as_nan(tmp_path):
    # accuracies_as_json writes its NaN as null; read back it is NaN again, as evaluate
    # gave it, a float every reader can format (None is none).
    line = {**_record(1), "per_class_acc": {"a": None, "b": 1.0}}
    path = tmp_path / "class_metrics.jsonl"
    _write(path, json.dumps(line))
    acc = class_metrics(path, 1, 2)["per_class_acc"]
    assert math.isnan(acc["a"]) and acc["b"] == 1.0
