"""Runs side by side: how far each got, at what cost, and which settings set them apart.

:func:`compare_runs` reads each run folder's small files (:mod:`cnnlab.train.compare_files`:
config.yaml, metrics.csv, and where they are there yet summary.json, data.json and the
last checkpoint's readable copy; :mod:`cnnlab.train.compared_run` says what they tell of
the run). It loads no weights and no data, so a run still
training, or one whose data has moved, compares as well as a finished one. The
comparison is a table (terminal, notebook, CSV), the settings in which the runs differ
(the question a comparison asks: the book's recipe or ours, lr 0.1 or 0.05), and a
figure of their curves on shared axes; laid out by :mod:`cnnlab.train.compare_tables` and
:mod:`cnnlab.train.compare_figure`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.formatting import and_list, setting_text
from cnnlab.train.compare_files import (  # noqa: F401 (RunFilesError: importable from here too)
    RunFilesError,
    run_folders,
)
from cnnlab.train.compared_run import LEFT_TO_THE_RUN, ComparedRun
from cnnlab.train.config import ConfigError, check_target_accuracy
from cnnlab.train.outcome import run_folder
from cnnlab.train.report import setting_words

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.table import Table

# Settings that say where a run was written and how it talked, not how it trained: every
# run has its own, so listing them would bury the differences that matter.
BOOKKEEPING = ("out_dir", "run_name", "quiet", "log_every", "data_root")
# How many processes trained a run (torchrun): in summary.json, not config.yaml, yet a
# setting as much as the batch size is (2 processes at 128 take steps of 256).
PROCESSES = "processes"
# The images a run trained on and was scored on, as counted: data given to train() from
# Python (a subset) has the config's data name, so only the counts tell it apart.
TRAIN_IMAGES, TEST_IMAGES = "train_images", "test_images"
# A legend names each run by the settings it differs in while there are this few of them.
LABEL_SETTINGS = 3


def _machines_differ(machines: list[str]) -> bool:
    """Whether ``machines`` ("cpu AMD EPYC 7B13", "cuda NVIDIA H100", "cpu") name more
    than one kind of device, or two processors. One that names none is not another: a run
    from before summary.json named its CPU ("cpu") beside one from the same machine since
    was said to be from another."""
    kinds = {m.split(" ", 1)[0] for m in machines}
    chips = {m.split(" ", 1)[1] for m in machines if " " in m}
    return len(kinds) > 1 or len(chips) > 1


def _whole_splits_differ(runs: list[ComparedRun]) -> bool:
    """Whether runs of differing train_subsets cannot have drawn them from one training
    split: one that trained fewer images than its subset (or had none) trained the whole
    split, so those counts must agree, and no other run's subset can exceed it (a folder
    of 450 images, then of 4,500: subsets 1,000 and 2,000 trained 450 and 2,000)."""
    whole, used = set(), []
    for run in runs:
        trained, subset = run.train_images, run.config.get("train_subset")
        if not isinstance(trained, int):
            continue
        if isinstance(subset, int) and trained >= subset:
            used.append(subset)
        else:
            whole.add(trained)
    return len(whole) > 1 or bool(whole and used and max(used) > min(whole))


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: ``runs``, a ComparedRun each, in the order given.
    ``differences``: each setting whose value is not the same in every run (config.yaml's
    fields, those left to the run, an "auto" amp or device and no resize, as it resolved
    them, then the counts of processes, training images and test images scored), with its
    value in each, in config order; ``target``: the test accuracy whose time-to is a
    column."""

    runs: list[ComparedRun]
    differences: dict[str, list[Any]]
    target: float | None = None

    def notes(self) -> list[str]:
        """What a reader must know before comparing the numbers."""
        notes = []
        if self._other_images("train"):
            notes.append("the runs trained on different data: their accuracies do not compare")
        if self._other_images("test"):
            notes.append("the runs were scored on different test images (eval_subset, a "
                         "folder's split_seed, or data given to train() from Python)")
        if _machines_differ([r.machine for r in self.runs if r.machine]):
            notes.append("the runs trained on different devices or processors: their speeds "
                         "do not compare")
        return notes

    @property
    def same_data(self) -> bool:
        """Whether, as far as their files say, the runs trained and were scored on the
        same images (when they are also alike in every setting, only chance and the
        machine set them apart)."""
        return not (self._other_images("train") or self._other_images("test"))

    @property
    def data(self) -> list[str | None]:
        """Each run's data spec, on which an unset setting's words depend (setting_words)."""
        return [run.config.get("data") for run in self.runs]

    def _other_images(self, split: str) -> bool:
        """Whether the runs' ``split`` ("train" or "test") differ: by the data named, the
        images counted, or the fingerprint data.json records of data given from Python."""
        if split == "train":
            # A train_subset set apart is the setting compared (64 images or 128 of the
            # same data, scored alike), not other data: the counts then follow from it.
            subsets = "train_subset" in self.differences
            counted = [] if subsets else [TRAIN_IMAGES]
            named = {"data", *counted} & self.differences.keys()
            if subsets and _whole_splits_differ(self.runs):
                return True
        else:
            folder = any(str(r.config.get("data", "")).startswith("folder:") for r in self.runs)
            named = {"eval_subset", TEST_IMAGES, *(["split_seed"] if folder else [])} & \
                self.differences.keys()
        fingerprints = {r._recorded(split, "fingerprint") for r in self.runs} - {None}
        return bool(named) or len(fingerprints) > 1

    def names(self) -> list[str]:
        """Each run's folder name, or its path as given where two runs' folders share a
        name (a runs/ folder in two places, say)."""
        names = [run.name for run in self.runs]
        return [name if names.count(name) == 1 else str(run.run_dir)
                for name, run in zip(names, self.runs, strict=True)]

    def table_cells(self) -> tuple[list[str], list[list[str]]]:
        """The results table as text: a header and one row per run."""
        from cnnlab.train.compare_tables import results_cells

        return results_cells(self)

    def differences_cells(self) -> tuple[list[str], list[list[str]]]:
        """The settings that differ, as text: a row per setting and a column per run, or,
        where the runs outnumber the settings, a row per run (a table stays narrow)."""
        from cnnlab.train.compare_tables import differences_cells

        return differences_cells(self)

    def labels(self) -> list[str]:
        """A short name per run for a legend: the settings it differs in while they are
        few (LABEL_SETTINGS); past that its folder's name, then its model, data and preset
        where those differ (a preset accounts for most of the rest): the settings alone
        no longer tell the lines apart nor match them to the table's rows, named so. A
        name two runs would share gets the folder's too."""
        keys = list(self.differences)
        cut = len(keys) > LABEL_SETTINGS
        if cut:
            keys = [k for k in ("model", "data", TRAIN_IMAGES, "preset") if k in keys]
        if not keys:
            return self.names()
        shown = {k: label_values(self.differences[k], k, self.data) for k in keys}
        labels = [", ".join(_label_part(k, self.differences[k][i], shown[k][i]) for k in keys)
                  for i in range(len(self.runs))]
        if cut:
            return [f"{name}: {label}" for label, name in zip(labels, self.names(), strict=True)]
        return [label if labels.count(label) == 1 else f"{label} ({name})"
                for label, name in zip(labels, self.names(), strict=True)]

    def title(self) -> str:
        """What the runs share and what sets them apart, e.g. "3 runs of lenet_modern on
        fashion-mnist, differing in lr and seed"."""
        shared = self.runs[0].config
        words = f"{len(self.runs)} runs"
        if "model" not in self.differences:
            words += f" of {shared['model']}"
        if "data" not in self.differences:
            data = str(shared["data"])  # a folder by its name: a whole path fills a slide
            words += f" on {Path(data[7:]).name if data.startswith('folder:') else data}"
        keys = list(self.differences)
        if keys:
            listed = keys if len(keys) <= 4 else [*keys[:3], f"{len(keys) - 3} more settings"]
            words += ", differing in " + and_list(listed)
        return words

    def to_rows(self) -> list[dict]:
        """One dict per run (for CSV and pandas): the results as numbers (None where
        unknown), then each differing setting's value as compared (config.yaml's, an
        "auto" as the run resolved it; a setting named like a result, ``device``, as
        ``config.device``)."""
        rows = []
        for i, run in enumerate(self.runs):
            best = run.best
            row = {"run": str(run.run_dir), "model": run.config["model"],
                   "epochs_done": run.epochs_done, "epochs": run.config["epochs"],
                   "state": run.state, "best_test_acc": best[0] if best else None,
                   "best_epoch": best[1] if best else None,
                   "last_test_acc": run.last_test_acc, "parameters": run.parameters,
                   "wall_s": run.wall_s, "images_per_s": run.images_per_s,
                   "device": run.device or None}
            if self.target is not None:
                row[f"time_to_{self.target:g}_s"] = run.time_to(self.target)
            for key, values in self.differences.items():
                row[key if key not in row else f"config.{key}"] = values[i]
            rows.append(row)
        return rows

    def to_csv(self) -> str:
        """:meth:`to_rows` as CSV text; lists and dicts as JSON, None as an empty cell."""
        rows = self.to_rows()
        text = io.StringIO()
        writer = csv.DictWriter(text, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{k: "" if v is None else setting_text(v) if isinstance(
            v, (dict, list, tuple, bool)) else v for k, v in row.items()} for row in rows])
        return text.getvalue()

    def figure(self, x: str = "epoch") -> Figure:
        """Test accuracy and test loss of every run, against ``x``: "epoch" or "time"
        (seconds of training and evaluation), as a matplotlib Figure."""
        from cnnlab.train.compare_figure import comparison_figure

        return comparison_figure(self.runs, self.labels(), x, self.target, self.title())

    def to_tables(self, width: int | None = None) -> list[Table]:
        """The results table, and the differences' when a setting differs, for rich; given
        a console's ``width``, the results table leaves out the columns that do not fit
        (its caption names them), and a settings table too wide comes in parts, each
        with the setting (or run) names."""
        from cnnlab.train.compare_tables import rich_tables

        return rich_tables(self, width)

    def _repr_html_(self) -> str:
        """Both tables, and the notes, for a notebook cell's last value."""
        from cnnlab.train.compare_tables import html_tables

        return html_tables(self)

    def __str__(self) -> str:
        from cnnlab.train.compare_tables import plain_text

        return plain_text(self)

    def __repr__(self) -> str:
        return f"<RunComparison of {len(self.runs)} runs: {self.title()}>"


# Sequence, not list: a list[Path] is no list[str | os.PathLike] to a type checker.
def compare_runs(*paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                 target: float | None = None) -> RunComparison:
    """The runs in ``paths`` side by side: ``compare_runs("runs/a", "runs/b")``, or a
    list of them. A path is a run's folder (or the TrainResult ``train()`` returned), or
    a folder holding run folders (``runs/``: every run in it, in name order, which is the
    order cnnlab's dated names were made in). ``target``: a test accuracy (0.9) whose
    time-to becomes a column.

    Raises ConfigError for a request that cannot be compared as given: a path that does
    not exist, or that is no run and holds none, given alone (NotARunError); fewer than
    two runs; a target outside (0, 1]. RunFilesError (a ValueError) for a run's file
    that cannot be read, naming it. A file or folder that is no run beside others (a
    shell's ``runs/*`` catching notes.txt) is left out with a warning.
    """
    check_target_accuracy(target)
    if any(isinstance(given, (int, float)) for given in paths):  # compare_runs(runs, 0.9)
        raise ConfigError("compare_runs takes run folders as its arguments: give the target "
                          "accuracy by name, compare_runs(..., target=0.9)")
    # A TrainResult is a path (its run_dir); anything else that is no list of paths is
    # named, where `list(given)` said "'int' object is not iterable".
    paths = [run_folder(p, "compare_runs") for given in paths for p in (
        given if isinstance(given, Iterable) and not isinstance(given, str | os.PathLike)
        else [given])]
    runs = [ComparedRun.read(d) for d in run_folders(paths)]
    if len(runs) < 2:
        twice = len({Path(p).expanduser().resolve() for p in paths}) < len(paths)
        found = "the same run, given twice" if len(runs) == 1 and twice else \
            f"{'only 1 run' if runs else 'no run'} found in {', '.join(map(str, paths))}"
        raise ConfigError(f"{found}: a comparison needs two runs or more (give several run "
                          "folders, or a folder of runs)")
    settings = [r.settings for r in runs]
    differences = differing_settings(settings)
    for key, undecided in LEFT_TO_THE_RUN.items():  # not resolved yet: not known to differ
        if len({s.get(key) for s in settings if s.get(key) != undecided}) <= 1:
            differences.pop(key, None)
    # Not in config.yaml, yet settings as much as the batch size is: each is listed where
    # two runs are known to differ in it.
    for key, values in ((PROCESSES, [r.processes for r in runs]),
                        (TRAIN_IMAGES, [r.train_images for r in runs]),
                        (TEST_IMAGES, [r.test_images for r in runs])):
        if len({v for v in values if v is not None}) > 1:
            differences[key] = values
    return RunComparison(runs, differences, target)


def differing_settings(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each setting whose value is not the same in every config (bookkeeping aside)."""
    keys = [k for k in dict.fromkeys(k for c in configs for k in c) if k not in BOOKKEEPING]
    return {k: [c.get(k) for c in configs] for k in keys
            if any(c.get(k) != configs[0].get(k) for c in configs)}


def label_values(values: list[Any], key: str | None = None,
                 data: list[str | None] | None = None) -> list[str]:
    """One setting's values across the runs, as a legend shows them: as the differences
    table writes them, except a float whose last digits hold the rounding error arithmetic
    leaves (0.1 + 0.2 is 0.30000000000000004): that one to 15 significant digits ("0.3"),
    unless two different values would then read the same: those keep every digit.
    ``data``: each run's, which an unset setting's words may depend on (setting_words)."""
    def short(value: Any, data: str | None) -> str:
        if not isinstance(value, float) or float(f"{value:.15g}") == value:
            return setting_words(value, key, data)  # 60.0 stays "60.0", as in the table
        return f"{value:.15g}"

    texts = [short(v, d) for v, d in zip(values, data or [None] * len(values), strict=True)]
    return [repr(v) if isinstance(v, float) and any(
        t == text and w != v for t, w in zip(texts, values, strict=True)) else text
        for v, text in zip(values, texts, strict=True)]


def _label_part(key: str, value: Any, shown: str) -> str:
    if key == "model":
        return setting_text(value)
    if key == "preset" and value is None:
        return "no preset"
    if key == "data" and str(value).startswith("folder:"):  # by its name, as in the title
        return f"data={Path(str(value)[7:]).name}"
    return f"{key}={shown}"
