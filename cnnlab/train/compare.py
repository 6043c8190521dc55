"""Runs side by side: how far each got, at what cost, and which settings set them apart.

:func:`compare_runs` reads each run folder's config.yaml, metrics.csv and, once the run
has finished or stopped, summary.json. It loads no weights and no data, so a run still
training, or one whose data has moved, compares as well as a finished one. The
comparison is a table (terminal, notebook, CSV), the settings in which the runs differ
(the question a comparison asks: the book's recipe or ours, lr 0.1 or 0.05), and a
figure of their curves on shared axes, against epochs or against the clock.
"""

from __future__ import annotations

import html
import io
import json
import math
import statistics
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlab.train.run_files import check_run_folder

# Settings that say where a run was written and how it talked, not how it trained: every
# run has its own, so listing them would bury the differences that matter.
BOOKKEEPING = ("out_dir", "run_name", "quiet", "log_every", "data_root")
# A legend names each run by the settings it differs in while there are this few of them;
# past that, by its folder's name (the table below the figure lists them all).
LABEL_SETTINGS = 3


@dataclass(frozen=True)
class ComparedRun:
    """One run as its files hold it. ``history``: metrics.csv's rows (numbers as numbers,
    NaN test columns in epochs that eval_every skipped); ``summary``: summary.json, ``{}``
    until the run has finished or stopped."""

    run_dir: Path
    config: dict[str, Any]
    history: list[dict]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def epochs_done(self) -> int:
        return int(self.history[-1]["epoch"]) if self.history else 0

    @property
    def state(self) -> str:
        """"finished", "time budget" (max_time ended it), "no epoch yet", or "unfinished"
        (interrupted, crashed or still training: its files cannot tell which)."""
        if not self.history:
            return "no epoch yet"
        if self.epochs_done >= self.config["epochs"]:
            return "finished"
        final_epoch = (self.summary.get("final") or {}).get("epoch")
        if self.summary.get("stopped") == "max_time" and final_epoch == self.epochs_done:
            return "time budget"
        return "unfinished"

    def _tested(self) -> list[dict]:
        return [r for r in self.history if _finite(r.get("test_acc"))]

    @property
    def best(self) -> tuple[float, int] | None:
        """(highest test accuracy, the first epoch that reached it), None before any."""
        tested = self._tested()
        if not tested:
            return None
        top = max(r["test_acc"] for r in tested)
        return top, next(r["epoch"] for r in tested if r["test_acc"] == top)

    @property
    def last_test_acc(self) -> float | None:
        tested = self._tested()
        return tested[-1]["test_acc"] if tested else None

    @property
    def wall_s(self) -> float | None:
        """Training plus evaluation seconds: the clock of a time-to-accuracy result
        (training alone, ``elapsed_s``, in runs written before wall_s existed)."""
        if not self.history:
            return None
        last = self.history[-1]
        value = last.get("wall_s", last.get("elapsed_s"))
        return value if _finite(value) else None

    def time_to(self, target: float) -> float | None:
        """Seconds (training and evaluation) until a test accuracy of ``target`` or more,
        None if the run never reached it."""
        for row in self._tested():
            if row["test_acc"] >= target:
                clock = row.get("wall_s", row.get("elapsed_s"))
                return clock if _finite(clock) else None
        return None

    @property
    def images_per_s(self) -> float | None:
        """The median epoch's training speed: the first epoch (warm-up, compiling) and
        an epoch cut short by the time budget do not sway it."""
        speeds = [r["images_per_s"] for r in self.history if _finite(r.get("images_per_s"))]
        return statistics.median(speeds) if speeds else None

    @property
    def parameters(self) -> int | None:
        return self.summary.get("parameters")

    @property
    def device(self) -> str:
        return str(self.summary.get("device") or self.config.get("device", ""))


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side. ``differences``: each setting (config.yaml's field) whose value
    is not the same in every run, with its value in each, in config order; ``target``:
    the test accuracy whose time-to is a column (None: no such column)."""

    runs: list[ComparedRun]
    differences: dict[str, list[Any]]
    target: float | None = None

    def notes(self) -> list[str]:
        """What a reader must know before comparing the numbers."""
        notes = []
        if "data" in self.differences:
            notes.append("the runs trained on different data: their accuracies do not compare")
        if "eval_subset" in self.differences:
            notes.append("the runs were scored on different parts of the test split "
                         "(eval_subset)")
        if len({r.device for r in self.runs}) > 1:
            notes.append("the runs trained on different devices: their speeds do not compare")
        return notes

    def names(self) -> list[str]:
        """Each run's folder name, or its path as given where two runs' folders share a
        name (a runs/ folder in two places, say)."""
        names = [run.name for run in self.runs]
        return [name if names.count(name) == 1 else str(run.run_dir)
                for name, run in zip(names, self.runs, strict=True)]

    def table_cells(self) -> tuple[list[str], list[list[str]]]:
        """The results table as text: a header and one row per run."""
        header = ["run", "model", "epochs", "state", "best test acc", "last test acc",
                  "params", "train+eval time", "images/s", "device"]
        if self.target is not None:
            header.insert(8, f"time to {100 * self.target:g}%")
        rows = []
        for run, name in zip(self.runs, self.names(), strict=True):
            best = run.best
            cells = [name, str(run.config["model"]),
                     f"{run.epochs_done}/{run.config['epochs']}", run.state,
                     f"{100 * best[0]:.2f}% (epoch {best[1]})" if best else "-",
                     _percent(run.last_test_acc), _count(run.parameters),
                     _seconds(run.wall_s), _count(run.images_per_s), run.device]
            if self.target is not None:
                reached = run.time_to(self.target)
                cells.insert(8, _seconds(reached) if reached is not None else "not reached")
            rows.append(cells)
        return header, rows

    def differences_cells(self) -> tuple[list[str], list[list[str]]]:
        """The settings that differ: one row per setting, one column per run."""
        header = ["setting", *self.names()]
        return header, [[key, *(setting_text(v) for v in values)]
                        for key, values in self.differences.items()]

    def labels(self) -> list[str]:
        """A short name per run for a legend: the settings it differs in while they are
        few; past that its model and preset where those differ (a preset accounts for
        most of the rest), else its folder's name. A name two runs would share gets the
        folder's too."""
        keys = list(self.differences)
        if len(keys) > LABEL_SETTINGS:
            keys = [k for k in ("model", "preset") if k in self.differences]
        if not keys:
            return self.names()
        labels = [", ".join(setting_text(self.differences[k][i]) if k == "model"
                            else f"{k}={setting_text(self.differences[k][i])}" for k in keys)
                  for i in range(len(self.runs))]
        return [label if labels.count(label) == 1 else f"{label} ({name})"
                for label, name in zip(labels, self.names(), strict=True)]

    def to_rows(self) -> list[dict]:
        """One dict per run, numbers unformatted (for CSV and pandas): the results, then
        each differing setting as a column of its own."""
        rows = []
        for i, run in enumerate(self.runs):
            best = run.best
            row = {"run": str(run.run_dir), "model": run.config["model"],
                   "epochs_done": run.epochs_done, "epochs": run.config["epochs"],
                   "state": run.state, "best_test_acc": best[0] if best else None,
                   "best_epoch": best[1] if best else None,
                   "last_test_acc": run.last_test_acc, "parameters": run.parameters,
                   "wall_s": run.wall_s, "images_per_s": run.images_per_s,
                   "device": run.device}
            if self.target is not None:
                row[f"time_to_{self.target:g}_s"] = run.time_to(self.target)
            for key, values in self.differences.items():
                row.setdefault(key, setting_text(values[i]))
            rows.append(row)
        return rows

    def figure(self, x: str = "epoch"):
        """Test accuracy and test loss of every run, against ``x``: "epoch" or "time"
        (seconds of training and evaluation), as a matplotlib Figure."""
        return comparison_figure(self.runs, self.labels(), x, self.target, self.title())

    def title(self) -> str:
        """What the runs share and what sets them apart, e.g. "3 runs of lenet_modern on
        fashion-mnist, differing in lr and seed"."""
        shared = self.runs[0].config
        words = f"{len(self.runs)} runs"
        if "model" not in self.differences:
            words += f" of {shared['model']}"
        if "data" not in self.differences:
            words += f" on {shared['data']}"
        keys = list(self.differences)
        if keys:
            listed = keys if len(keys) <= 4 else [*keys[:3], f"{len(keys) - 3} more settings"]
            words += ", differing in " + (listed[0] if len(listed) == 1 else
                                          f"{', '.join(listed[:-1])} and {listed[-1]}")
        return words

    def to_table(self):
        """The results table for a rich console."""
        from rich.markup import escape
        from rich.table import Table

        header, rows = self.table_cells()
        table = Table(title=f"{len(self.runs)} runs compared", title_justify="left")
        for i, name in enumerate(header):
            table.add_column(name, justify="left" if i in (0, 1, 3, len(header) - 1)
                             else "right", overflow="fold")
        for cells in rows:
            table.add_row(*map(escape, cells))  # a run named "[b]" is not markup
        return table

    def differences_table(self):
        from rich.markup import escape
        from rich.table import Table

        header, rows = self.differences_cells()
        table = Table(title="Settings that differ", title_justify="left")
        for name in header:
            table.add_column(escape(name), overflow="fold")
        for cells in rows:
            table.add_row(*map(escape, cells))
        return table

    def _repr_html_(self) -> str:
        """Both tables, for a notebook cell's last value."""
        def table(header: list[str], rows: list[list[str]], caption: str) -> str:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                           + "</tr>" for cells in rows)
            return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}"
                    f"</tr></thead><tbody>{body}</tbody></table>")

        parts = [table(*self.table_cells(), f"{len(self.runs)} runs compared")]
        if self.differences:
            parts.append(table(*self.differences_cells(), "Settings that differ"))
        parts += [f"<p>Note: {html.escape(note)}</p>" for note in self.notes()]
        return "".join(parts)

    def __str__(self) -> str:
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, width=200, no_color=True, highlight=False,
                          force_terminal=False, emoji=False)
        console.print(self.to_table())
        if self.differences:
            console.print(self.differences_table())
        for note in self.notes():
            console.print(f"Note: {note}")
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())

    __repr__ = __str__


def compare_runs(paths: list[str | Path], target: float | None = None) -> RunComparison:
    """The runs in ``paths`` side by side. A path is a run's folder, or a folder holding
    run folders (``runs/``: every run in it, oldest first by name). ``target``: a test
    accuracy (0.9) whose time-to becomes a column.

    Raises ConfigError for a request that cannot be compared as given: a path that is no
    run and holds none (NotARunError, naming what it holds), a damaged config.yaml
    (naming the file), fewer than two runs, a target outside (0, 1].
    """
    from cnnlab.train.config import ConfigError, TrainConfig

    if target is not None and not 0 < target <= 1:
        raise ConfigError(f"target {target!r}: give a test accuracy between 0 and 1, e.g. 0.9")
    runs = []
    for run_dir in run_folders(paths):
        config = TrainConfig.load(run_dir / "config.yaml").to_dict()
        runs.append(ComparedRun(run_dir, config, _history(run_dir), _summary(run_dir)))
    if len(runs) < 2:
        raise ConfigError(f"{len(runs)} run found in {', '.join(map(str, paths))}: a comparison "
                         "needs two or more (give several run folders, or a folder of runs)")
    return RunComparison(runs, differing_settings([r.config for r in runs]), target)


def run_folders(paths: list[str | Path]) -> list[Path]:
    """Each path's run folders, in the order given, a folder given twice taken once."""
    found: list[Path] = []
    for path in map(Path, paths):
        path = path.expanduser()
        if path.is_dir() and not (path / "config.yaml").is_file():
            inside = sorted(p for p in path.iterdir() if (p / "config.yaml").is_file())
            if inside:
                found += inside
                continue
        check_run_folder(path)  # names what a folder that is no run holds instead
        found.append(path)
    unique = {p.resolve(): p for p in reversed(found)}
    return [p for p in found if unique[p.resolve()] is p]


def differing_settings(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each setting whose value is not the same in every config (bookkeeping aside)."""
    keys = [k for k in dict.fromkeys(k for c in configs for k in c) if k not in BOOKKEEPING]
    return {k: [c.get(k) for c in configs] for k in keys
            if any(c.get(k) != configs[0].get(k) for c in configs)}


def setting_text(value: Any) -> str:
    """A setting as config.yaml writes it: null, true/false, {...} and [...]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def comparison_figure(runs: list[ComparedRun], labels: list[str], x: str = "epoch",
                      target: float | None = None, title: str = ""):
    """Test accuracy (left) and test loss (right) of each run against ``x`` ("epoch", or
    "time": seconds of training and evaluation, from 0), one colour per run, the legend
    below; ``target``, when given, drawn as a line on the accuracy panel. The test loss,
    not the train loss: it is the same cross-entropy in every run, where the train loss
    holds label smoothing in some runs and not in others (a book run's would look
    better than a modern recipe's that is far ahead)."""
    from matplotlib.ticker import MaxNLocator

    from cnnlab.figures import literal, subplots
    from cnnlab.train.report_figures import LOG_LOSS_DECADES, accuracy_floor

    if x not in X_AXES:
        raise ValueError(f"x {x!r}: give one of {', '.join(X_AXES)}")
    fig, (ax_acc, ax_loss) = subplots(1, 2, figsize=(11, 4.6))
    fig.set_layout_engine("constrained")
    accuracies, losses = [], []
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        # Ten colours, then the same ten dashed: no two of twenty runs look alike.
        style = dict(color=f"C{i % 10}", linestyle="-" if i < 10 else "--", marker="o",
                     markersize=3, label=literal(label))
        tested = [r for r in run.history if _finite(r.get("test_acc"))]
        ax_acc.plot([_x(r, x) for r in tested], [100 * r["test_acc"] for r in tested], **style)
        ax_loss.plot([_x(r, x) for r in tested], [r["test_loss"] for r in tested], **style)
        accuracies += [100 * r["test_acc"] for r in tested]
        losses += [r["test_loss"] for r in tested if _finite(r["test_loss"])]
    if target is not None:
        ax_acc.axhline(100 * target, color="0.4", linewidth=1, linestyle=":",
                       label=f"target {100 * target:g}%")
        accuracies.append(100 * target)
    low = accuracy_floor(accuracies)
    ax_acc.set_ylim(low, 100 + 0.03 * (100 - low))
    x_label = X_AXES[x]
    ax_acc.set(xlabel=x_label, ylabel="test accuracy (%)",
               title="Test accuracy" + (f" (axis starts at {low:g}%)" if low > 0 else ""))
    positive = [v for v in losses if v > 0]
    log_loss = bool(positive) and math.log10(max(positive) / min(positive)) > LOG_LOSS_DECADES
    if log_loss:
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel=x_label, ylabel="test loss" + (" (log scale)" if log_loss else ""),
                title="Test loss (cross-entropy)")
    for ax in (ax_acc, ax_loss):
        if x == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_xlim(left=0)  # the clock starts at 0: who got there first
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(literal(title))
    fig.legend(handles=ax_acc.lines, loc="outside lower center", fontsize="small",
               ncols=min(3, len(ax_acc.lines)))
    return fig


# What the figure's x axis can be, and how it is labelled.
X_AXES = {"epoch": "epoch", "time": "seconds of training and evaluation"}


def _x(row: dict, x: str) -> float:
    if x == "epoch":
        return row["epoch"]
    clock = row.get("wall_s", row.get("elapsed_s"))
    return clock if _finite(clock) else math.nan


def _history(run_dir: Path) -> list[dict]:
    from cnnlab.train.runlog import MetricsLog

    path = run_dir / "metrics.csv"
    return MetricsLog.read(path) if path.is_file() else []


def _summary(run_dir: Path) -> dict[str, Any]:
    """summary.json, or {} when there is none yet (or it cannot be read: said, not fatal,
    since the table needs only a few of its fields)."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        from cnnlab.train.runlog import RunLogWarning

        warnings.warn(f"{path} could not be read ({exc}): its run's parameters and device "
                      "are not shown", RunLogWarning, stacklevel=3)
        return {}
    return summary if isinstance(summary, dict) else {}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f}%" if value is not None else "-"


def _count(value: float | None) -> str:
    from cnnlab.formatting import format_count

    return format_count(value) if _finite(value) else "-"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"
