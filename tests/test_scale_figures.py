"""Figures of long runs stay readable: a run of 500 epochs, ten of them compared. Read
from the Figures' artists: which points carry a marker."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cnnlab.train.compare_figure import comparison_figure
from cnnlab.train.compared_run import ComparedRun
from cnnlab.train.report_figures import MARKERS_SHOWN, curves_figure


def history(epochs: int, eval_every: int = 1) -> list[dict]:
    """A plausible metrics.csv of ``epochs`` rows (NaN test columns where not evaluated)."""
    rows = []
    for e in range(1, epochs + 1):
        tested = e % eval_every == 0 or e == epochs
        acc = 0.93 - 0.5 * math.exp(-8 * e / epochs)
        rows.append(dict(epoch=e, train_loss=2.3 * math.exp(-5 * e / epochs) + 0.05,
                         train_acc=acc + 0.02, test_loss=0.3 + 1.0 / e if tested else math.nan,
                         test_acc=acc if tested else math.nan, lr=0.1 * (1 - e / epochs),
                         wall_s=30.0 * e, elapsed_s=28.0 * e, images_per_s=2000.0))
    return rows


def marked(line) -> list[int]:
    """Indices of the points ``line`` draws a marker on."""
    points, every = len(line.get_xdata()), line.get_markevery()
    if line.get_marker() in (None, "None", "none", ""):
        return []
    if every is None:
        return list(range(points))
    start, step = every
    return list(range(start, points, step))


@pytest.mark.parametrize("epochs, eval_every", [(500, 1), (500, 5), (2000, 1)])
def test_a_long_runs_curves_mark_a_few_points_each_not_every_epoch(epochs, eval_every):
    fig = curves_figure(history(epochs, eval_every))
    loss, acc, lr = fig.axes[:3]
    for ax in (loss, acc, lr):
        for line in ax.lines:
            assert 0 < len(marked(line)) <= MARKERS_SHOWN + 1, (ax.get_title(), line)
    train, test = loss.lines
    # Not stacked on one another: train's and test's markers fall on other epochs.
    train_at = {train.get_xdata()[i] for i in marked(train)}
    test_at = {test.get_xdata()[i] for i in marked(test)}
    assert len(train_at & test_at) <= 1
    # The learning rate's dots, once too many to mark, are joined by a line.
    assert lr.lines[-1].get_linestyle() == "-"


def test_a_short_runs_curves_still_mark_every_epoch():
    fig = curves_figure(history(12))
    loss, acc, lr = fig.axes[:3]
    for line in (*loss.lines, *acc.lines, *lr.lines):
        assert marked(line) == list(range(12))
    assert lr.lines[-1].get_linestyle() == "None"  # dots alone, as before


def test_ten_long_runs_compared_mark_a_few_points_each_at_other_epochs():
    runs = [ComparedRun(Path(f"run{i}"), {"epochs": 500}, history(500)) for i in range(10)]
    fig = comparison_figure(runs, [run.name for run in runs])
    acc_axis = fig.axes[0]
    lines = [line for line in acc_axis.lines if line.get_label().startswith("run")]
    assert len(lines) == 10
    firsts = set()
    for line in lines:
        points = marked(line)
        assert 0 < len(points) <= MARKERS_SHOWN + 1
        firsts.add(points[0])
    assert len(firsts) == 10  # each run's markers a step further on


def test_a_few_runs_compared_mark_every_epoch():
    runs = [ComparedRun(Path(f"run{i}"), {"epochs": 8}, history(8)) for i in range(3)]
    fig = comparison_figure(runs, [run.name for run in runs])
    for line in fig.axes[0].lines:
        assert marked(line) == list(range(8))
