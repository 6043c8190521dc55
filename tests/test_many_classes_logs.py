"""A run of many classes in TensorBoard, summary.json and the reading back of
class_metrics.jsonl: what stays usable at 1,000 classes, and every reader of an epoch's
line agreeing on what counts (the .pending lines a held file kept, a torn last line)."""

from __future__ import annotations

import json
import math

import pytest

from cnnlab.train.class_metrics_file import class_metrics
from cnnlab.train.runlog import MetricsLog
from cnnlab.train.summary_json import summary_json


def _events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0,
                                                           "tensors": 0})
    events.Reload()
    return events


def _log_classes(run_dir, epochs, n_classes, purge_step=None):
    log = MetricsLog(run_dir, purge_step=purge_step)
    classes = [f"k{i:02d}" for i in range(n_classes)]
    for epoch in epochs:
        # Class i scores i / n, one class (the last) has no test image (NaN).
        acc = [i / n_classes for i in range(n_classes - 1)] + [math.nan]
        confusion = [[0] * n_classes for _ in classes]
        log.append_class_metrics(epoch, classes, acc, confusion)
    log.close()
    return classes


def test_past_30_classes_tensorboard_has_their_spread_not_a_curve_each(tmp_path):
    _log_classes(tmp_path, [1, 2], 40)
    events = _events(tmp_path)
    # 40 charts, one per class, were the class_acc panel (1,000 at 1,000 classes).
    assert sorted(events.Tags()["scalars"]) == ["class_acc/lowest", "class_acc/mean"]
    assert [(e.step, e.value) for e in events.Scalars("class_acc/lowest")] == [(1, 0), (2, 0)]
    mean = sum(i / 40 for i in range(39)) / 39  # over the 39 classes scored
    assert events.Scalars("class_acc/mean")[0].value == pytest.approx(mean)
    assert events.Histograms("class_acc/all_classes")[1].step == 2
    assert events.Histograms("class_acc/all_classes")[0].histogram_value.num == 39
    named = events.Tensors("class_acc/lowest_classes/text_summary")[0]
    words = named.tensor_proto.string_val[0].decode()
    assert words.startswith("10 lowest of 40 classes (1 with no test image): `k00` 0.0%, "
                            "`k01` 2.5%")


def test_up_to_30_classes_each_class_keeps_its_curve(tmp_path):
    classes = _log_classes(tmp_path, [1], 30)
    assert sorted(_events(tmp_path).Tags()["scalars"]) == [f"class_acc/{c}" for c in classes]


def test_a_many_class_run_from_before_resumed_keeps_its_curves_and_adds_the_spread(
        tmp_path):
    # Epochs 1-2 as cnnlab wrote them before: a curve per class.
    from torch.utils.tensorboard import SummaryWriter

    old = SummaryWriter(log_dir=str(tmp_path))
    for epoch in (1, 2, 3):  # epoch 3 is past the checkpoint: the resume replaces it
        for i in range(40):
            old.add_scalar(f"class_acc/k{i:02d}", 0.5, epoch)
    old.close()
    _log_classes(tmp_path, [3], 40, purge_step=3)
    events = _events(tmp_path)
    assert [e.step for e in events.Scalars("class_acc/k00")] == [1, 2]
    assert [e.step for e in events.Scalars("class_acc/lowest")] == [3]
    assert [e.step for e in events.Histograms("class_acc/all_classes")] == [3]


def _record(epoch: int, acc: float = 0.5) -> dict:
    return {"epoch": epoch, "per_class_acc": {"a": acc, "b": acc},
            "confusion": [[1, 1], [1, 1]]}


def test_an_epoch_a_held_file_kept_aside_is_read_from_its_pending_lines(tmp_path):
    # Windows: Excel held class_metrics.jsonl as the run ended, epoch 2's line waits in
    # class_metrics.jsonl.pending. The report fell back to summary.json's last epoch.
    path = tmp_path / "class_metrics.jsonl"
    path.write_text(json.dumps(_record(1)) + "\n", encoding="utf-8")
    (tmp_path / "class_metrics.jsonl.pending").write_text(
        json.dumps(_record(1, 0.0)) + "\n" + json.dumps(_record(2)) + "\n", encoding="utf-8")
    assert class_metrics(path, 2, 2) == _record(2)
    assert class_metrics(path, 1, 2) == _record(1)  # the file's own line wins
    assert class_metrics(path, 3, 2) is None


def test_a_last_line_without_its_line_end_is_not_read_even_if_it_parses(tmp_path):
    # A kill cut the write after the record's "}", before its "\n": a resume drops the
    # line (drop_torn_tail) and trains that epoch again; the report read it as done.
    path = tmp_path / "class_metrics.jsonl"
    path.write_text(json.dumps(_record(1)) + "\n" + json.dumps(_record(2)), encoding="utf-8")
    assert class_metrics(path, 2, 2) is None
    assert class_metrics(path, 1, 2) == _record(1)
    path.write_text(json.dumps(_record(1)), encoding="utf-8")  # the only line, torn
    assert class_metrics(path, 1, 2) is None


def test_summary_json_has_a_line_per_confusion_row_and_reads_back_the_same():
    summary = {"model": "m", "per_class_acc": {f"c{i}": 0.5 for i in range(300)},
               "confusion": [[i * 300 + j for j in range(300)] for i in range(300)],
               "config": {"epochs": 3}, "note": "confusion matrix"}
    text = summary_json(summary)
    assert json.loads(text) == summary
    # One count a line before: 90,000 lines for these 300 classes.
    assert len(text.splitlines()) < 300 + 300 + 20
    assert "\n  [0, 1, 2, 3," in text
    assert summary_json({"confusion": [], "x": 1}) == json.dumps({"confusion": [], "x": 1},
                                                                  indent=1)
