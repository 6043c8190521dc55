"""The figure of `cnnlab compare`: every run's test curves on shared axes, drawn for a
slide (its title says what the runs share and what sets them apart)."""

from __future__ import annotations

import math

from cnnlab.figures import literal, subplots
from cnnlab.formatting import HOURS_FROM, MINUTES_FROM
from cnnlab.train.compared_run import ComparedRun, clock, finite
from cnnlab.train.report_figures import accuracy_axis, epoch_ticks, loss_axis, wrapped

# What the figure's x axis can be.
X_AXES = ("epoch", "time")
FIGURE_SIZE = (11, 4.8)  # inches


def comparison_figure(runs: list[ComparedRun], labels: list[str], x: str = "epoch",
                      target: float | None = None, title: str = ""):
    """Test accuracy (left) and test loss (right) of each run against ``x`` ("epoch", or
    "time": seconds of training and evaluation, from 0), one colour per run, the legend
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
        # Ten colours, solid, then the same ten dashed, then dotted.
        style = dict(color=f"C{i % 10}", linestyle=("-", "--", ":")[i // 10 % 3], marker="o",
                     markersize=3, label=literal(label))
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
        fig.legend(handles=ax_acc.lines, loc="outside lower center", fontsize="small",
                   ncols=min(3, len(ax_acc.lines)))
    if title:
        fig.suptitle(literal(wrapped(title, FIGURE_SIZE[0])))
    return fig
