"""A run's figures: training curves (loss, accuracy, learning rate) and the confusion
matrix, drawn for slides: each says what it shows without the report around it."""

from __future__ import annotations

import math
from pathlib import Path

from cnnlab.figures import (
    DPI,
    PALETTE,
    literal,
    save_figure,
    series_style,
    si_log_axis,
    subplots,
    text_colour_on,
)
from cnnlab.formatting import ordinal

# A loss that spans more decades than this is drawn on a log axis: on a linear one a
# fall from 2 to 1e-4 is a cliff and then a flat line at zero.
LOG_LOSS_DECADES = 1.5
# From this many decades on, a log loss axis keeps matplotlib's labels at each decade
# (10^-4, 10^-3, ...): enough of them to read a curve by.
LABELLED_DECADES_FROM = 3


# The curves' width, and their smallest text (the legends'), in points: 9 pt on 12 inches
# stays 9 px and more on a laptop's 1000 px column (the legends were 8.3 pt on 13.5).
WIDE_INCHES = 12.0
LEGEND_PT = 9

# A curve of up to MARKED_UP_TO points has a marker on each; a longer one every k-th
# point, about MARKERS_SHOWN in all: 500 epochs marked one by one were a solid band of
# circles and squares, hiding the lines, their dashes and where train and test crossed.
MARKED_UP_TO = 40
MARKERS_SHOWN = 20


def marker_every(points: int, series: int = 0, of: int = 1) -> tuple[int, int] | None:
    """matplotlib's ``markevery`` for a curve of ``points`` points: None (every point)
    up to MARKED_UP_TO, else (first, k): every k-th point. ``series`` of ``of`` curves
    on one axes start a share of k apart, so their markers do not fall on one another."""
    if points <= MARKED_UP_TO:
        return None
    every = math.ceil(points / MARKERS_SHOWN)
    return (series * every // max(of, 1)) % every, every


def plot_curves(rows: list[dict], out: Path, train_objective: str = "", **notes) -> Path:
    """:func:`curves_figure`, written to ``out``."""
    return save_figure(curves_figure(rows, train_objective, **notes), out, layout=False)


def curves_figure(rows: list[dict], train_objective: str = "", *, title: str = "",
                  train_note: str = "", test_note: str = "",
                  lr_plan: tuple[list[float], list[float]] | None = None):
    """Loss, accuracy (%) and learning rate per epoch of a history (``TrainResult
    .history``, metrics.csv's rows), as a matplotlib Figure.

    ``train_objective`` says what the train loss holds besides the cross-entropy the test
    loss is ("label smoothing 0.1"), so a train curve above the test one is not read as
    underfitting; ``train_note`` and ``test_note`` say how each curve was measured (the
    train one as the weights changed, on augmented batches; the test one with the EMA's
    weights, say). ``title`` names the run (model, preset, data). ``lr_plan``: the
    schedule step by step, as (epoch, lr) lists, drawn under the per-epoch values.
    """
    epochs = [r["epoch"] for r in rows]
    # Epochs skipped by eval_every have NaN test values: the test line joins the others.
    tested = [r for r in rows if not math.isnan(r["test_acc"])]
    lrs = [r.get("lr") for r in rows]
    has_lr = all(isinstance(v, (int, float)) and math.isfinite(v) for v in lrs) and rows
    panels = 3 if has_lr else 2
    fig, axes = subplots(1, panels, figsize=(WIDE_INCHES if has_lr else 9, 4.6),
                         width_ratios=[1, 1, 0.7] if has_lr else [1, 1])
    fig.set_layout_engine("constrained")
    ax_loss, ax_acc = axes[0], axes[1]
    train_label = "train" + (f": {train_note}" if train_note else "")
    if train_objective:
        train_label += f" (the loss with {train_objective})"
    test_label = "test" + (f": {test_note}" if test_note else "")
    # Told apart by line style and marker as well as colour (series_style), for a
    # reader who cannot tell the hues apart.
    style = dict(train=dict(series_style(0), markevery=marker_every(len(rows), 0, 2)),
                 test=dict(series_style(1), markevery=marker_every(len(tested), 1, 2)))
    ax_loss.plot(epochs, [r["train_loss"] for r in rows], label=train_label, **style["train"])
    ax_loss.plot([r["epoch"] for r in tested], [r["test_loss"] for r in tested],
                 label=test_label, **style["test"])
    loss_axis(ax_loss, [v for r in rows for v in (r["train_loss"], r["test_loss"])], "loss")
    ax_loss.set(xlabel="epoch", title="Loss")
    ax_acc.plot(epochs, [100 * r["train_acc"] for r in rows], label=train_label,
                **style["train"])
    ax_acc.plot([r["epoch"] for r in tested], [100 * r["test_acc"] for r in tested],
                label=test_label, **style["test"])
    accuracy_axis(ax_acc, [100 * v for r in rows for v in (r["train_acc"], r["test_acc"])],
                  "Accuracy")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    if has_lr:
        ax_lr = axes[2]
        if lr_plan is not None:
            ax_lr.plot(*lr_plan, color="0.55", linewidth=1.2, label="each step (planned)")
        # One dot per epoch, joined by a line once they are too many to mark one by one.
        every = marker_every(len(epochs))
        ax_lr.plot(epochs, lrs, marker="o", linestyle="none" if every is None else "-",
                   markevery=every, color=PALETTE[2], label="at each epoch's last step")
        ax_lr.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
        ax_lr.set_ylim(bottom=0)
        ax_lr.legend(fontsize=LEGEND_PT)
    for ax in axes:
        ax.xaxis.set_major_locator(epoch_ticks())
        if epochs and max(epochs) < 1:  # cut inside its first epoch: from 0 to where
            ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    # One legend for both panels (the same two curves), below them: it covers no data.
    inches = fig.get_figwidth()
    fig.legend(handles=ax_loss.lines, loc="outside lower center", fontsize=LEGEND_PT,
               labels=[wrapped(line.get_label(), inches - 0.8, LEGEND_PT, least=10)
                       for line in ax_loss.lines])
    if title:
        # Wrapped for this width, and again by matplotlib (wrap) when drawn narrower: a
        # figure resized for a slide (fig.set_size_inches) lost both ends of its title.
        fig.suptitle(literal(wrapped(title, inches)), wrap=True)
    return fig


def epoch_ticks():
    """Whole epochs on an x axis (no 1.25), a single one too: matplotlib's default asks
    for two integers in view, and a one-epoch run's axis (0.945 to 1.055) then read
    0.945, 0.960, ... instead of 1."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True, min_n_ticks=1)


def loss_axis(ax, losses: list[float], label: str) -> None:
    """A log y axis where the positive finite ``losses`` span more than LOG_LOSS_DECADES,
    its label (``label``) saying so; under LABELLED_DECADES_FROM decades ticked 1-2-5 x
    10^k (:func:`~cnnlab.figures.si_log_axis`): labelled at the decades alone, losses
    from 1.6 to 196 had 10 and 100 to read the whole train curve (1.6 to 3.4) by."""
    positive = [v for v in losses if math.isfinite(v) and v > 0]
    log = bool(positive) and math.log10(max(positive) / min(positive)) > LOG_LOSS_DECADES
    if log:
        ax.set_yscale("log")
        if math.log10(max(positive) / min(positive)) < LABELLED_DECADES_FROM:
            si_log_axis(ax.yaxis, min(positive), max(positive))
    ax.set_ylabel(label + (" (log scale)" if log else ""))


def accuracy_axis(ax, percents: list[float], title: str) -> None:
    """An accuracy panel's y range, from :func:`accuracy_floor` to just past 100% (in view:
    how far from perfect), and its ``title``, saying where a cut axis starts."""
    low = accuracy_floor(percents)
    ax.set_ylim(low, 100 + 0.03 * (100 - low))
    ax.set_title(title + (f" (axis starts at {low:g}%)" if low > 0 else ""))


def accuracy_floor(values: list[float]) -> float:
    """Where the accuracy axis starts: 0, or the 10% step below the lowest value when
    that is above 20% (differences of a point or two stay visible, and the title says
    that the axis is cut)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) < 20:
        return 0.0
    return float(10 * math.floor((min(finite) - 1) / 10))


def planned_lr(peak_lr: float, schedule: str, epochs: int, warmup_epochs: float,
               steps_per_epoch: int, most: int = 2000) -> tuple[list[float], list[float]]:
    """The learning rate of every optimizer step the schedule plans, as (epoch, lr)
    lists (at most ``most`` points): a step's lr plotted at the fraction of epochs
    trained once it is taken, so epoch e's last step lands on e, where metrics.csv's
    per-epoch lr is drawn. From the training's own schedule (``lr_factor``)."""
    from cnnlab.train.optim import lr_factor, warmup_step_count

    total = epochs * steps_per_epoch
    warmup = warmup_step_count(warmup_epochs, steps_per_epoch)
    stride = max(1, total // most)
    steps = sorted({*range(0, total, stride), *(e * steps_per_epoch - 1
                                                for e in range(1, epochs + 1))})
    return ([(s + 1) / steps_per_epoch for s in steps],
            [peak_lr * lr_factor(schedule, s, total, warmup) for s in steps])


# The confusion matrix of many classes: its side is capped (0.55 in a class reaches it at
# 24 classes), its cells are bare past COUNTS_UP_TO classes (100 x 100 counts took 30 s to
# draw, and no one reads them), and its image stays under MAX_PIXELS a side (embedded in
# report.html; 100 classes at 150 dpi were 8,730 px and 4 MB).
CONFUSION_MAX_SIDE = 15.0  # inches
COUNTS_UP_TO = 30
MAX_PIXELS = 2500
# Tick labels are sized to their row, down to this; past it only every k-th class is named.
SMALLEST_LABEL_PT = 6.0
# Up to this many classes, and counts under 1,000, the matrix is drawn NARROW_INCHES wide,
# to fit a phone's column whole at 9 px text and more (8.7 inches of Fashion-MNIST's had
# 5 px class names on a phone); past it a row is too thin for a name at that width. A
# wider one scrolls sideways there (cnnlab.figures.embed_png).
NARROW_CONFUSION_UP_TO = 16
NARROW_INCHES = 4.6


def plot_confusion(matrix: list[list[int]], classes: list[str], out: Path,
                   title: str = "", heading: str = "") -> Path:
    """Row-normalised confusion matrix (true class per row): the colour is the share of
    the true class, the cells give image counts (up to COUNTS_UP_TO classes; past that
    the colour alone, and the figure says so). ``heading`` says which evaluation it is in
    a few words, at the title's size ("best checkpoint (epoch 9), 1,000 test images");
    ``title`` the rest, smaller, under it (the weights; or the whole description where
    no heading is given): :func:`confusion_titles` makes both for a run. Up to
    NARROW_CONFUSION_UP_TO classes of counts under 1,000 it is drawn NARROW_INCHES wide."""
    n = len(classes)
    size = min(CONFUSION_MAX_SIDE, max(5.0, 0.55 * n + 2))
    dpi = min(DPI, int(MAX_PIXELS / (size + 1.2)))
    # Four digits at 9 pt need wider cells than NARROW_INCHES leave: a full test set's.
    narrow = n <= NARROW_CONFUSION_UP_TO and max(map(max, matrix), default=0) < 1000
    return save_figure(confusion_figure(matrix, classes, title, size, narrow=narrow,
                                        heading=heading), out, dpi=dpi, layout=False)


def confusion_titles(summary: dict, shown) -> dict[str, str]:
    """:func:`plot_confusion`'s ``heading`` and ``title`` for the evaluation ``shown``
    (a ShownEvaluation) of the run ``summary`` describes. The whole description ("test
    set (first 1,000 of 10,000 test images), after epoch 9 of 10, EMA weights (decay
    0.999), the best checkpoint") took six lines at the title's size, a third of the
    figure on a slide: the figure keeps what it needs said alone, and the report's
    heading and caption give the rest."""
    from cnnlab.train.report_evaluation import evaluated_weights_words

    if shown.epoch is None:
        which = "last evaluation"
    else:
        which = f"{'best checkpoint' if shown.is_best else 'last epoch'} (epoch {shown.epoch})"
    images = summary.get("eval_images")
    heading = which + (f", {images:,} test images" if isinstance(images, int) else "")
    return {"heading": heading, "title": evaluated_weights_words(summary.get("config") or {})}


def confusion_figure(matrix: list[list[int]], classes: list[str], title: str, size: float,
                     narrow: bool = False, heading: str = ""):
    """:func:`plot_confusion`'s figure, its matrix ``size`` inches a side (the colour bar
    and labels take 1.2 inches more across); ``narrow``: NARROW_INCHES wide, the matrix
    about 2.8 inches, its text sized to that, the titles wrapped to it."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    text_size = (_cell_font_size(2.8 / 0.7 if narrow else size, n,
                                 int(counts.max()) if counts.size else 0)
                 if n <= COUNTS_UP_TO else None)
    if text_size is not None:
        legend = "cells: image counts; colour: share of the true class"
    else:
        legend = f"colour only, no counts ({n} classes): share of the true class"
    shown_names = short_names(classes)
    cut = ["long class names cut (…)"] if shown_names != list(classes) else []
    width = NARROW_INCHES if narrow else size + 1.2
    # The heading at a title's size, one or two lines; the rest of ``title`` and what the
    # cells are, smaller under it (the legends' size: still read on a phone).
    heading = wrapped("Confusion matrix" + (f": {literal(heading)}" if heading else ""),
                      width - 0.5)
    details = "\n".join(wrapped(line, width - 0.5, LEGEND_PT)
                        for line in ([literal(title)] if title else []) + [legend] + cut)
    # A narrow figure is as tall as its titles need: the square matrix is centred in the
    # height they leave, so at a fixed height a short title left an inch of blank above it.
    titles = (heading.count("\n") + 1) * 12 + (details.count("\n") + 1) * LEGEND_PT
    figsize = ((width, NARROW_INCHES - 0.7 + 1.3 * titles / 72) if narrow
               else (width, size + 0.6))
    size = 2.8 / 0.7 if narrow else size  # what the text is sized by: 70% is the matrix
    fig, ax = subplots(figsize=figsize)
    fig.set_layout_engine("constrained")
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    label_pt, every = _tick_labels(size, n)
    ticks = range(0, n, every)
    names = [literal(shown_names[i]) for i in ticks]  # folder names, drawn as written
    ax.set_xticks(ticks, names, rotation=45, ha="right", fontsize=label_pt)
    ax.set_yticks(ticks, names, fontsize=label_pt)
    named = "" if every == 1 else f" (every {ordinal(every)} class named)"
    ax.set(xlabel="predicted class" + named, ylabel="true class" + named)
    fig.suptitle(heading)
    ax.set_title(details, fontsize=LEGEND_PT)
    if text_size is not None:
        for i in range(n):
            for j in range(n):
                # Black or white by the cell's own colour: white from a share of 0.5 on
                # sat at 2.6:1 on the mid blues (WCAG asks 4.5:1 of text this small).
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center",
                        fontsize=text_size,
                        color=text_colour_on(im.cmap(im.norm(share[i, j]))))
    bar = fig.colorbar(im, ax=ax, fraction=0.046)
    bar.set_label("share of the true class")
    return fig


# Class names on the matrix's axes are cut to NAME_CHARS characters, the middle taken out
# ("golden_retr…e_snow"): six folder names of up to 40 characters took the figure's
# width and height, and left the matrix half an inch a side, its counts drawn on top of
# each other. The report's per-class table gives the names whole.
NAME_CHARS = 18


def short_names(names: list[str], chars: int = NAME_CHARS) -> list[str]:
    """``names`` of more than ``chars`` characters cut to ``chars``, "…" in the middle
    (two thirds of what is kept from the start); longer where two would read alike, those
    two only (two names differing mid-name made every name whole)."""

    def cut(name: str, width: int) -> str:
        if len(name) <= width:
            return name
        head = (width - 1) * 2 // 3
        return name[:head] + "…" + name[len(name) - (width - 1 - head):]

    width = dict.fromkeys(names, chars)
    while True:
        shown: dict[str, list[str]] = {}
        for name in width:
            shown.setdefault(cut(name, width[name]), []).append(name)
        alike = [name for same in shown.values() if len(same) > 1 for name in same
                 if width[name] < len(name)]  # (whole names differ: one of two is cut)
        if not alike:
            return [cut(name, width[name]) for name in names]
        for name in alike:
            width[name] += 1


def _tick_labels(figure_side: float, n: int) -> tuple[float, int]:
    """Points for the class names of an ``n`` x ``n`` matrix drawn ``figure_side`` inches
    wide, and k where only every k-th is named: as large as a row allows (at most 10
    pt), never below SMALLEST_LABEL_PT (100 classes on the capped side: all named, at
    about 6.8 pt, 14 px at 150 dpi; 200: every 2nd)."""
    row_pt = 72 * 0.7 * figure_side / max(n, 1)  # the axes take about 70% of the side
    size = min(10.0, 0.9 * row_pt)
    if size >= SMALLEST_LABEL_PT:
        return round(size, 1), 1
    return SMALLEST_LABEL_PT, math.ceil(SMALLEST_LABEL_PT / (0.9 * row_pt))


def wrapped(text: str, inches: float, points: float = 12, least: int = 20) -> str:
    """``text`` broken into lines that fit a figure ``inches`` wide at ``points`` (lines of
    ``least`` characters at the least)."""
    import textwrap

    return textwrap.fill(text, width=max(least, int(inches * 72 / (0.55 * points))))


def _cell_font_size(figure_side: float, n: int, largest: int) -> float | None:
    """Points for the counts in a cell of an ``n`` x ``n`` matrix drawn ``figure_side``
    inches wide: as large as the widest count fits (at most 12 pt); None where even 6 pt
    would not fit, and the cells stay bare."""
    cell_pt = 72 * 0.7 * figure_side / max(n, 1)  # the axes take about 70% of the side
    digits = len(str(largest))
    size = min(12.0, 0.8 * cell_pt / (0.62 * digits))  # a digit is about 0.62 em wide
    return round(size, 1) if size >= 6 else None
