"""A long run's class_metrics.jsonl (a line per epoch, each a confusion matrix) is read
for one epoch without parsing every other epoch's line."""

from __future__ import annotations

import json

from cnnlab.train import class_metrics_file
from cnnlab.train.class_metrics_file import class_metrics
from cnnlab.train.report_evaluation import shown_evaluation


def record(epoch: int, classes: int = 3) -> dict:
    return {"epoch": epoch, "per_class_acc": {f"c{i}": 0.5 for i in range(classes)},
            "confusion": [[1 if i == j else 1 if j == (i + 1) % classes else 0
                           for j in range(classes)] for i in range(classes)]}


def write(path, records, raw: list[str] = ()) -> None:
    lines = [json.dumps(r) for r in records] + list(raw)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def counting_loads(monkeypatch) -> list[str]:
    """The lines class_metrics_file parses as JSON (for the report), as it parses them."""
    parsed, real = [], json.loads

    def loads(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(class_metrics_file.json, "loads", loads)
    return parsed


def test_the_best_epoch_of_a_500_epoch_run_is_parsed_alone(tmp_path, monkeypatch):
    path = tmp_path / "class_metrics.jsonl"
    write(path, [record(e) for e in range(1, 501)])
    parsed = counting_loads(monkeypatch)
    # The best epoch early in a long run: every later line was parsed to reach it.
    assert class_metrics(path, 7, 3)["epoch"] == 7
    assert len(parsed) == 1


def test_the_report_reads_the_best_epochs_line_of_a_long_run(tmp_path, monkeypatch):
    write(tmp_path / "class_metrics.jsonl", [record(e) for e in range(1, 401)])
    parsed = counting_loads(monkeypatch)
    shown = shown_evaluation(tmp_path, {"best_epoch": 3, "classes": ["c0", "c1", "c2"],
                                        "final": {"epoch": 400}})
    assert (shown.epoch, shown.is_best, len(parsed)) == (3, True, 1)


def test_a_line_written_otherwise_is_still_read_and_the_last_of_an_epoch_wins(tmp_path):
    path = tmp_path / "class_metrics.jsonl"
    by_hand = record(5)
    by_hand["per_class_acc"]["c0"] = 0.25
    # Another spacing than cnnlab's, key order changed: parsed whole to tell its epoch.
    hand_line = json.dumps({k: by_hand[k] for k in ("confusion", "per_class_acc", "epoch")},
                           separators=(",", ":"))
    write(path, [record(e) for e in range(1, 11)], raw=[hand_line, '{"epoch": 5, "per_cl'])
    assert class_metrics(path, 5, 3)["per_class_acc"]["c0"] == 0.25  # the torn one skipped
    assert class_metrics(path, 50, 3) is None  # "5" is no prefix match for 50
    assert class_metrics(path, 10, 3)["epoch"] == 10
