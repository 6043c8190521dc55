"""A run's figures say what they show: accuracy in %, where its axis starts, how train and
test were measured, a loss over decades on a log axis, the learning rate, the run's name;
the confusion matrix's colour and numbers named. Read from the Figure's artists."""

from __future__ import annotations

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train


@pytest.fixture
def drawn(monkeypatch):
    """The Figures the report's figures module saves, in order (still written to disk)."""
    from cnnlab.train import report_figures

    figures = []
    real = report_figures.save_figure

    def keep(fig, path, *args, **kwargs):
        figures.append(fig)
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(report_figures, "save_figure", keep)
    return figures


@pytest.fixture
def curves_drawn(monkeypatch):
    """What a run hands its curves figure: the history as drawn, the notes, the lr plan."""
    from cnnlab.train import run_outputs

    seen = {}
    real = run_outputs.plot_curves

    def spy(history, out, objective="", **kw):
        seen.update(kw, history=history)
        return real(history, out, objective, **kw)

    monkeypatch.setattr(run_outputs, "plot_curves", spy)
    return seen


def rows(test_acc, train_loss=None, lr=0.1):
    out = []
    for i, acc in enumerate(test_acc):
        out.append({"epoch": i + 1, "train_loss": (train_loss or [1.0] * len(test_acc))[i],
                    "train_acc": acc - 0.05, "test_loss": 0.5, "test_acc": acc, "lr": lr})
    return out


def test_accuracy_is_in_percent_on_an_axis_that_says_where_it_starts(tmp_path, drawn):
    from cnnlab import figures
    from cnnlab.train.report_figures import plot_curves

    plot_curves(rows([0.85, 0.88, 0.892]), tmp_path / "c.png", title="lenet_modern (fast)")
    fig = drawn[0]
    ax_acc = fig.axes[1]
    assert ax_acc.get_ylabel() == "accuracy (%)"
    test_line = ax_acc.lines[1]
    assert list(test_line.get_ydata()) == pytest.approx([85.0, 88.0, 89.2])
    low, high = ax_acc.get_ylim()
    assert low == 70 and high >= 100  # round start, 100% in view
    assert "axis starts at 70%" in ax_acc.get_title()
    assert fig.get_suptitle() == "lenet_modern (fast)"
    assert figures.DPI >= 150  # slides: 110 dpi looked soft when projected


def test_a_loss_over_decades_is_drawn_on_a_log_axis(tmp_path, drawn):
    from cnnlab.train.report_figures import plot_curves

    plot_curves(rows([0.9] * 4, train_loss=[2.0, 0.1, 1e-3, 1e-4]), tmp_path / "a.png")
    plot_curves(rows([0.9] * 4, train_loss=[0.9, 0.8, 0.7, 0.6]), tmp_path / "b.png")
    assert drawn[0].axes[0].get_yscale() == "log" and "log" in drawn[0].axes[0].get_ylabel()
    assert drawn[1].axes[0].get_yscale() == "linear"


def test_the_learning_rate_has_its_panel_and_the_plan_meets_the_logged_values(
        tmp_path, drawn):
    from cnnlab.train.report_figures import planned_lr, plot_curves

    plan = planned_lr(0.1, "onecycle", epochs=3, warmup_epochs=0.3, steps_per_epoch=10)
    logged = dict(zip(*plan, strict=True))
    history = [{**r, "lr": logged[float(r["epoch"])]} for r in rows([0.8, 0.85, 0.9])]
    plot_curves(history, tmp_path / "c.png", lr_plan=plan)
    ax_lr = drawn[0].axes[2]
    assert ax_lr.get_ylabel() == "learning rate"
    assert max(ax_lr.lines[0].get_ydata()) == pytest.approx(0.1)  # the onecycle peak
    assert list(ax_lr.lines[1].get_ydata()) == [r["lr"] for r in history]


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
@pytest.mark.filterwarnings("ignore:ema_decay .* is never reached")  # a tiny run, on purpose
def test_a_run_draws_its_curves_labelled_and_with_the_schedule_it_logged(tmp_path, drawn,
                                                                         curves_drawn):
    seen = curves_drawn
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r",
                      schedule="onecycle", warmup_epochs=0.5, ema_decay=0.9, flip=True)
    train(cfg, data=make_synthetic(num_train=96, num_test=32))
    x, lr = seen["lr_plan"]  # the plan agrees with every epoch's logged lr
    for row in seen["history"]:
        assert lr[x.index(float(row["epoch"]))] == pytest.approx(row["lr"])
    assert "augmented" in seen["train_note"] and "as the weights changed" in seen["train_note"]
    assert "EMA weights (decay 0.9)" in seen["test_note"]
    fig = drawn[0]
    assert fig.get_suptitle() == "lenet_modern (no preset) on synthetic, run r"
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any("EMA weights" in t for t in labels)


def test_the_confusion_matrix_names_its_colour_and_its_numbers(tmp_path, drawn):
    from cnnlab.train.report_figures import plot_confusion

    classes = [f"class{i}" for i in range(10)]
    matrix = [[1000 if i == j else 0 for j in range(10)] for i in range(10)]
    plot_confusion(matrix, classes, tmp_path / "c.png",
                   title="test set (10,000 images), after epoch 3 of 3, EMA weights")
    fig = drawn[0]
    ax, bar = fig.axes
    assert bar.get_ylabel() == "share of the true class"
    title = ax.get_title().replace("\n", " ")
    assert "after epoch 3 of 3, EMA weights" in title
    assert "cells: image counts" in title and "colour: share of the true class" in title
    counts = [t for t in ax.texts if t.get_text() == "1000"]
    assert len(counts) == 10 and all(t.get_fontsize() >= 9 for t in counts)


def test_counts_are_as_large_as_their_cells_allow():
    from cnnlab.train.report_figures import _cell_font_size

    assert _cell_font_size(7.5, 10, 1000) >= 9  # Fashion-MNIST: 1,000 a class
    assert _cell_font_size(5.0, 2, 5) == 12  # capped
    assert _cell_font_size(5.0, 200, 50) is None  # no room: the colour alone


def test_a_100_class_confusion_matrix_is_quick_small_and_named_legibly(tmp_path, drawn):
    # 0.55 in a class at 150 dpi with a count in every cell: 30 s and 8,730 px a side.
    import random

    from PIL import Image

    from cnnlab.train.report_figures import plot_confusion

    n, rng = 100, random.Random(0)
    matrix = [[rng.randint(1, 99) + (900 if i == j else 0) for j in range(n)] for i in range(n)]
    out = plot_confusion(matrix, [f"class{i}" for i in range(n)], tmp_path / "c.png",
                         title="test set (10,000 images)")
    # No wall-clock bound: "< 10 s" failed under CPU load (47 s with other work on the
    # cores). The 30 s came from a count in each of 10,000 cells at 8,730 px: both checked.
    assert max(Image.open(out).size) <= 2600
    ax = drawn[0].axes[0]
    assert len(ax.texts) == 0  # no counts: the colour alone, and the title says so
    assert "colour only, no counts (100 classes)" in ax.get_title().replace("\n", " ")
    names = ax.get_yticklabels()
    assert [t.get_text() for t in names] == [f"class{i}" for i in range(n)]
    row_pt = ax.get_window_extent().height / n * 72 / drawn[0].dpi
    assert all(6 <= t.get_fontsize() <= row_pt for t in names)  # legible, not overlapping


def test_past_the_room_for_every_class_every_kth_is_named():
    from cnnlab.train.report_figures import CONFUSION_MAX_SIDE, _tick_labels

    assert _tick_labels(7.5, 10) == (10.0, 1)  # Fashion-MNIST: as before
    assert _tick_labels(CONFUSION_MAX_SIDE, 100)[1] == 1
    assert _tick_labels(CONFUSION_MAX_SIDE, 200) == (6.0, 2)
    assert _tick_labels(CONFUSION_MAX_SIDE, 1000) == (6.0, 9)


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_the_test_curve_says_when_and_on_which_weights_it_was_measured(tmp_path, monkeypatch):
    # eval_every 2: the test curve has epochs 2 and 3 only, and its legend said "after each
    # epoch"; its weights were named by a copy of evaluated_weights_words that left out TTA.
    from cnnlab.train import run_outputs
    from cnnlab.train.report_evaluation import evaluated_weights_words

    notes = []
    real = run_outputs.plot_curves
    monkeypatch.setattr(run_outputs, "plot_curves", lambda history, out, objective="", **kw:
                        notes.append(kw["test_note"]) or real(history, out, objective, **kw))
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r",
                      eval_every=2, tta_flip=True)
    train(cfg, data=make_synthetic(num_train=64, num_test=32))
    weights = evaluated_weights_words(cfg.to_dict())
    assert "test-time views: mirror" in weights
    assert notes == [f"every 2 epochs and at the last, {weights}"]
    assert run_outputs._test_epochs(1, rows([0.5])) == "after each epoch"
    assert run_outputs._test_epochs(2, rows([0.5] * 4)) == "every 2 epochs"


def test_a_single_epoch_is_labelled_1_not_0_945_0_960(tmp_path, drawn):
    from cnnlab.train.report_figures import plot_curves

    plot_curves(rows([0.7]), tmp_path / "one.png")
    fig = drawn[0]
    fig.canvas.draw()
    for ax in fig.axes:
        low, high = ax.get_xlim()
        shown = [t for t in ax.get_xticks() if low <= t <= high]
        assert shown and all(float(t).is_integer() for t in shown), (ax.get_title(), shown)


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
@pytest.mark.filterwarnings("ignore:ema_decay .* is never reached")
def test_an_epoch_cut_by_max_time_is_drawn_where_it_stopped_beside_its_schedule(
        tmp_path, drawn, curves_drawn):
    seen = curves_drawn
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="cut",
                      schedule="onecycle", max_time=1e-9)
    result = train(cfg, data=make_synthetic(num_train=96, num_test=32))  # 3 steps an epoch
    assert result.stopped == "max_time" and result.history[-1]["epoch"] == 1
    assert seen["history"][-1]["epoch"] == pytest.approx(1 / 3)  # 1 step of 3, not epoch 1
    assert seen["lr_plan"] is not None  # its lr is the plan's at that step: still drawn
    ax_loss = drawn[0].axes[0]
    assert ax_loss.get_xlim()[0] == 0
