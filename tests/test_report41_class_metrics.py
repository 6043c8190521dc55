"""class_metrics.jsonl: a line whose confusion matrix lacks a row is no record of that
epoch; the epoch's whole line is read instead."""

import json

from cnnlab.train.class_metrics_file import class_metrics


def test_a_matrix_missing_a_row_is_passed_over_for_the_epochs_whole_line(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    whole = {"epoch": 2, "per_class_acc": {"a": 1.0, "b": 0.5, "c": None},
             "confusion": [[2, 0, 0], [1, 1, 0], [0, 0, 0]]}
    short = {**whole, "confusion": whole["confusion"][:2]}  # three classes, two rows
    path.write_text(json.dumps(whole) + "\n" + json.dumps(short) + "\n", encoding="utf-8")
    assert class_metrics(path, 2, 3)["confusion"] == whole["confusion"]
