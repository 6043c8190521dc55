"""The figure of `cnnlab compare`: every run's test curves on shared axes, drawn for a
slide (its title says what the runs share and what sets them apart)."""

from __future__ import annotations

import math

from cnnlab.figures import literal, series_style, subplots
from cnnlab.formatting import HOURS_FROM, MINUTES_FROM
from cnnlab.train.compared_run import ComparedRun, clock, finite
from cnnlab.train.report_figures import (
    accuracy_axis,
    epoch_ticks,
    loss_axis,
    marker_every,
    wrapped,
)

# What the figure's x axis can be.
X_AXES = ("epoch", "time")
FIGURE_SIZE = (11, 4.8)  # inches
# The legend's height the figure's own height allows for (two rows); a taller legend
# makes the figure taller, so the axes keep their size.
LEGEND_ROOM = 0.6  # inches


def comparison_figure(runs: list[ComparedRun], labels: list[str], x: str = "epoch",
                      target: float | None = None, title: str = ""):
    """Test accuracy (left) and test loss (right) of each run against ``x`` ("epoch", or
    "time": seconds of training and evaluation, from 0), one colour, line style and
    marker per run, the legend
    below; ``target``, when given, drawn as a line on the accuracy panel. A run with no
    evaluation yet is left out (the table says why).

    The test loss, not the train loss: it is the same cross-entropy in every run, where
    the train loss holds label smoothing in some runs and not in others (a book run's
    would look better than a modern recipe's that is far ahead)."""
    if x not in X_AXES:
        raise ValueError(f"x {x!r}: give one of {', '.join(X_AXES)}")
    fig, (ax_acc, ax_loss) = subplots(1, 2, figsize=FIGURE_SIZE)
    fig.set_layout_engine("constrained")
    tested = [[r for r in run.history if finite(r.get("test_acc"))] for run in runs]
    longest = max((clock(r) or 0 for rows in tested for r in rows), default=0)
    unit, scale = (("hours", 3600) if longest > HOURS_FROM else
                   ("minutes", 60) if longest > MINUTES_FROM else ("seconds", 1))

    def position(row: dict, run: ComparedRun) -> float:
        if x == "epoch":
            # A last epoch that the time budget cut short is drawn where it stopped (at
            # 1.4 epochs, not 2: beside a run that trained 2, it did less, not worse).
            return run.epochs_done if row is run.history[-1] else row["epoch"]
        seconds = clock(row)
        return math.nan if seconds is None else seconds / scale

    accuracies, losses = [], []
    for i, (run, rows, label) in enumerate(zip(runs, tested, labels, strict=True)):
        if not rows:
            continue
        # Colour, line style and marker all differ from run to run (series_style): by
        # colour alone, ten solid lines had red beside green for a colour-blind reader.
        # A long run's markers every k-th evaluation, each run's a step further on: ten
        # runs of 500 epochs marked at every one were a band of markers hiding the lines.
        style = dict(**series_style(i), markersize=4, label=literal(label),
                     markevery=marker_every(len(rows), i, len(runs)))
        xs = [position(r, run) for r in rows]
        ax_acc.plot(xs, [100 * r["test_acc"] for r in rows], **style)
        ax_loss.plot(xs, [r["test_loss"] if finite(r.get("test_loss")) else math.nan
                          for r in rows], **style)
        accuracies += [100 * r["test_acc"] for r in rows]
        losses += [r["test_loss"] for r in rows if finite(r.get("test_loss"))]
    if target is not None:
        ax_acc.axhline(100 * target, color="0.4", linewidth=1, linestyle=":",
                       label=f"target {100 * target:g}%")
        accuracies.append(100 * target)
    x_label = "epoch" if x == "epoch" else f"{unit} of training and evaluation"
    accuracy_axis(ax_acc, accuracies, "Test accuracy")
    ax_acc.set(xlabel=x_label, ylabel="test accuracy (%)")
    loss_axis(ax_loss, losses, "test loss")
    ax_loss.set(xlabel=x_label, title="Test loss (cross-entropy)")
    for ax in (ax_acc, ax_loss):
        if x == "epoch":
            ax.xaxis.set_major_locator(epoch_ticks())
        else:
            ax.set_xlim(left=0)  # the clock starts at 0: who got there first
        ax.grid(alpha=0.3)
    if ax_acc.lines:
        _fitted_legend(fig, ax_acc.lines)
    if title:
        # wrap: wrapped again when drawn narrower (fig.set_size_inches, for a slide)
        fig.suptitle(literal(wrapped(title, FIGURE_SIZE[0])), wrap=True)
    return fig


def _fitted_legend(fig, lines) -> None:
    """The legend below the axes, as many columns (3 at most) as fit the figure's width;
    in one column, labels too long for it wrapped; the figure made taller by what the
    legend takes past :data:`LEGEND_ROOM`. (Three columns of long labels, each a run's
    folder and recipe, ran off both sides of the figure: "target 90%" read "target 9".)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    labels = [line.get_label() for line in lines]
    room = 0.98 * fig.bbox.width  # pixels

    def drawn(ncols: int, texts: list[str]):
        legend = fig.legend(handles=lines, labels=texts, loc="outside lower center",
                            fontsize=9, ncols=ncols)
        return legend, legend.get_window_extent(renderer)

    for ncols in range(min(3, len(lines)), 0, -1):
        legend, extent = drawn(ncols, labels)
        if extent.width <= room or ncols == 1:
            break
        legend.remove()
    characters = max(map(len, labels))
    while extent.width > room and characters > 20:  # one column, still too wide: wrap
        characters = max(20, int(characters * room / extent.width) - 1)
        legend.remove()
        legend, extent = drawn(1, [_wrapped(label, characters) for label in labels])
    fig.set_figheight(FIGURE_SIZE[1] + max(0.0, extent.height / fig.dpi - LEGEND_ROOM))


def _wrapped(label: str, characters: int) -> str:
    """``label`` in lines of ``characters`` at most, an escaped ``\\$`` never split (a
    lone ``$`` would start a formula)."""
    import textwrap

    lines = textwrap.wrap(label, characters)
    for i in range(len(lines) - 1):
        if lines[i].endswith("\\"):
            lines[i], lines[i + 1] = lines[i][:-1], "\\" + lines[i + 1]
    return "\n".join(lines)
