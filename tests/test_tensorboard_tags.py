"""A run's TensorBoard curves: one panel per kind of number (train, test, lr, time,
memory, class_acc), the units in the charts' names, by epoch as metrics.csv, and a
resumed run continuing each curve with no step twice or missing."""

from __future__ import annotations

import math

import pytest
from resume_helpers import signal_after_steps, small_run

from cnnlab.train import resume
from cnnlab.train.outcome import TrainingInterrupted
from cnnlab.train.runlog import MetricsLog

# What a user finds in TensorBoard for each column of metrics.csv.
TAGS = {"train_loss": "train/loss", "train_acc": "train/acc", "test_loss": "test/loss",
        "test_acc": "test/acc", "lr": "lr/lr", "images_per_s": "time/images_per_s",
        "epoch_time_s": "time/epoch_s", "elapsed_s": "time/elapsed_s",
        "eval_time_s": "time/eval_s", "wall_s": "time/wall_s",
        "peak_memory_mb": "memory/peak_mib"}


def test_a_resumed_runs_curves_are_grouped_by_kind_and_follow_metrics_csv(
        tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with monkeypatch.context() as patch:  # Ctrl-C in epoch 2's second of 4 steps
        signal_after_steps(patch, 6)
        with pytest.raises(TrainingInterrupted):
            small_run(tmp_path, monkeypatch, epochs=3, run_name="r")
    resume(tmp_path / "r")
    events = EventAccumulator(str(tmp_path / "r"), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags()["scalars"]
    # The part before "/" is TensorBoard's panel: "elapsed/s" had made a panel "elapsed".
    assert {tag.split("/")[0] for tag in tags} == {
        "train", "test", "lr", "time", "memory", "class_acc"}
    rows = MetricsLog.read(tmp_path / "r" / "metrics.csv")
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    for column, tag in TAGS.items():  # each a curve of metrics.csv's epochs
        expected = [(row["epoch"], pytest.approx(row[column], rel=1e-6)) for row in rows
                    if not math.isnan(row[column])]
        assert [(e.step, e.value) for e in events.Scalars(tag)] == expected, tag
    assert [e.step for e in events.Scalars("class_acc/class0")] == [1, 2, 3]
