"""Where a run's outputs read class_metrics.jsonl and write summary.json, they do so as
class_metrics_file and summary_json say: the report shows a held file's kept epoch and
passes over a torn last line; summary.json holds its confusion matrix a row a line."""

from __future__ import annotations

import json

from resume_helpers import small_run

from cnnlab.train.report_evaluation import shown_evaluation


def _line(epoch: int, acc: float) -> str:
    return json.dumps({"epoch": epoch, "per_class_acc": {"a": acc, "b": acc},
                       "confusion": [[1, 1], [1, 1]]}) + "\n"


SUMMARY = {"best_epoch": 2, "classes": ["a", "b"], "final": {"epoch": 2},
           "per_class_acc": {"a": 0.25, "b": 0.25}, "confusion": [[1, 3], [3, 1]]}


def test_the_report_shows_the_best_epoch_a_held_file_kept_aside(tmp_path):
    (tmp_path / "class_metrics.jsonl").write_text(_line(1, 0.1), encoding="utf-8")
    (tmp_path / "class_metrics.jsonl.pending").write_text(_line(2, 0.5), encoding="utf-8")
    shown = shown_evaluation(tmp_path, SUMMARY)
    # It showed summary.json's numbers (0.25), not the best epoch's from the log.
    assert shown.per_class_acc == {"a": 0.5, "b": 0.5} and shown.confusion == [[1, 1], [1, 1]]


def test_the_report_passes_over_a_torn_last_line(tmp_path):
    (tmp_path / "class_metrics.jsonl").write_text(_line(1, 0.1) + _line(2, 0.5).rstrip("\n"),
                                                  encoding="utf-8")
    assert shown_evaluation(tmp_path, SUMMARY).per_class_acc == {"a": 0.25, "b": 0.25}


def test_a_runs_summary_json_holds_its_confusion_matrix_a_row_a_line(tmp_path, monkeypatch):
    result = small_run(tmp_path, monkeypatch, epochs=1, run_name="r")
    text = (tmp_path / "r" / "summary.json").read_text(encoding="utf-8")
    assert json.loads(text)["confusion"] == result.confusion
    rows = [line.strip().rstrip(",") for line in text.splitlines() if line.startswith("  [")]
    assert [json.loads(row) for row in rows] == result.confusion
