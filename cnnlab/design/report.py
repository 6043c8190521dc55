"""Analysis of finished sweeps: numbers (summary.json), a Markdown table, plots, HTML.

``analyze(["sweeps/a", "sweeps/b"], out="report")`` reads each sweep's store and
writes, into ``out``:

- ``summary.json`` and ``summary.md``: per space how the sweep was set up (training and
  test images, recipe, seed, date, machine, versions: :mod:`cnnlab.design.describe`), the
  finished and failed trials, the best error with the bootstrap range of the best of m
  (the same m for every space), median error, MACs range and the best few networks; per
  pair of spaces the KS statistic and p-value of the plain EDFs (asymptotic) and of the
  complexity-normalised ones over the MACs bins both reach (by permutation:
  :func:`~cnnlab.design.edf.compare_normalized`), and a verdict that says when a space
  has too few models to conclude from;
- ``edf.png``: the EDFs of error overlaid, plain and complexity-normalised;
- ``error_vs_macs.png``: every trial's error against its MACs;
- ``report.html``: all of it in one self-contained file (images inlined).

``out`` must be new, empty, or an earlier report's folder (its summary.json says so):
other files there (a training run's own report.html) are never overwritten.

Only trials with status 'done' enter the statistics; failed ones are counted.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.atomic import atomic_write_text, replace_file
from cnnlab.design.analysis import Analysis
from cnnlab.design.describe import (
    BEST_HEADER,
    best_trials,
    best_trials_rows,
    error_decimals,
    setup_tables,
    sweep_setup,
)
from cnnlab.design.edf import (
    bootstrap_best,
    compare_normalized,
    complexity_bin_edges,
    ks_test,
)
from cnnlab.design.folders import REPORT_FILES, REPORT_FORMAT, check_report_folder
from cnnlab.design.report_figures import (
    edf_figure,
    error_vs_macs_figure,
    figure_context,
    not_comparable_caption,
)
from cnnlab.design.report_text import (
    FIGURE_WORDS,
    MIN_TRUSTED_N,
    markdown_summary,
    pair_table,
    report_notes,
    space_table,
    verdict_words,
)
from cnnlab.design.store import TrialStore, make_folder
from cnnlab.design.sweep_spec import PAPER_RECIPE, SweepError, sweep_identity
from cnnlab.design.trial import all_diverged
from cnnlab.figures import FIGURE_STYLE, embed_png, save_figure
from cnnlab.interrupts import SigintRecorder
from cnnlab.shell_words import shell_quote
from cnnlab.train.report import NARROW_STYLE, html_table, page_head


@dataclass
class SpaceResult:
    """One sweep's finished trials."""

    label: str
    directory: str
    spec: dict
    counts: dict
    rows: list[dict] = field(repr=False)
    created: dict = field(default_factory=dict)  # the store's record: date, machine, ...
    planned: int = 0
    threads: int | None = None  # torch threads per CPU trial, as the store recorded them
    # Every failed trial diverged: --retry-failed trains them the same way (no advice there)
    failures_diverged: bool = False

    @property
    def errors(self) -> np.ndarray:
        return np.array([r["error_pct"] for r in self.rows], dtype=np.float64)

    @property
    def macs(self) -> np.ndarray:
        return np.array([r["macs"] for r in self.rows], dtype=np.float64)


def load_sweeps(directories: str | os.PathLike | Sequence[str | os.PathLike]
                ) -> list[SpaceResult]:
    """Each sweep's done trials, labelled by space (plus the folder when spaces repeat);
    ``directories``: one sweep's folder or several."""
    # One folder given alone: a string was read letter by letter ("s does not exist").
    directories = ([directories] if isinstance(directories, (str, os.PathLike))
                   else list(directories))
    folders = [Path(d).resolve() for d in directories]
    for d, folder in zip(directories, folders, strict=True):
        if folders.count(folder) > 1:  # it would be compared with itself: D = 0
            raise SweepError(f"the sweep {d} is named more than once: name each folder once")
    results = []
    for d in directories:
        with TrialStore(d) as store:
            spec = store.spec().to_dict()  # one whose creation was cut off: named
            results.append(SpaceResult(spec["space"], str(d), spec, store.counts(),
                                       store.trials("done"), store.meta().get("created", {}),
                                       store.planned(), store.meta().get("threads"),
                                       all_diverged(store.trials("failed"))))
    names = [r.label for r in results]
    for r in results:
        if names.count(r.label) > 1:
            r.label = f"{r.label} ({Path(r.directory).name})"
    names = [r.label for r in results]  # a/sweep and b/sweep: the whole path tells them apart
    for r in results:
        if names.count(r.label) > 1:
            r.label = f"{r.spec['space']} ({r.directory})"
    return results


def summarize(results: list[SpaceResult], bins: int = 10, resamples: int = 2000,
              seed: int = 0) -> dict:
    """Per-space and per-pair statistics (see the module docstring), as plain values."""
    usable = [r for r in results if r.rows]
    all_macs = np.concatenate([r.macs for r in usable]) if usable else np.array([])
    edges = complexity_bin_edges(all_macs, bins) if usable else np.array([])  # the figure's
    # The best of the same number of models in every space: a space that finished more
    # would otherwise look better for that alone (more draws, a lower minimum).
    best_of = min((len(r.rows) for r in usable), default=0)
    spaces = []
    for r in results:
        row = {"label": r.label, "space": r.spec["space"], "directory": r.directory,
               **{k: r.counts.get(k, 0) for k in ("done", "failed", "pending", "running")},
               "epochs": {**PAPER_RECIPE, **r.spec.get("train", {})}["epochs"],
               "macs_band": r.spec.get("macs"), "decimals": error_decimals(r.spec),
               "setup": sweep_setup(r.spec, r.created, r.planned, r.counts, r.rows,
                                    r.threads)}
        if r.rows:
            best = bootstrap_best(r.errors, sample_size=best_of, resamples=resamples,
                                  seed=seed)
            row.update(best_error=best.best, best_low=best.low, best_high=best.high,
                       best_level=best.level, best_of=best.sample_size,
                       median_error=float(np.median(r.errors)),
                       mean_error=float(np.mean(r.errors)), macs_min=float(r.macs.min()),
                       macs_max=float(r.macs.max()),
                       mean_train_time_s=float(np.mean([t["train_time_s"] for t in r.rows])),
                       best_trials=best_trials(r.rows))
        spaces.append(row)
    pairs = []
    for a, b in itertools.combinations(usable, 2):
        plain = ks_test(a.errors, b.errors)
        norm = compare_normalized(a.errors, a.macs, b.errors, b.macs, bins=bins,
                                  permutations=resamples, seed=seed)
        differences = setup_differences(a.spec, b.spec)
        # The models the normalised test compared (those in MACs bins both spaces hold):
        # 3 of 60 in a shared bin is too few, however many the sweep finished.
        sizes = (norm.compared_a, norm.compared_b)
        if differences:
            verdict = "not comparable, trained or sampled differently: " + "; ".join(differences)
        elif not norm.shared_bins:
            verdict = ("not comparable: no MACs bin holds models of both (their complexities "
                       "do not overlap)")
        else:
            verdict = verdict_words(a.label, b.label, norm.a_ahead, norm.b_ahead, norm.pvalue,
                                    sizes=sizes, chance_gap=norm.chance_gap,
                                    finished=(len(a.rows), len(b.rows)))
        pairs.append({"a": a.label, "b": b.label, "ks": plain.statistic, "p": plain.pvalue,
                      "ks_normalized": norm.statistic, "p_normalized": norm.pvalue,
                      "permutations": norm.permutations, "shared_bins": norm.shared_bins,
                      "pair_bins": norm.bins, "compared_a": norm.compared_a,
                      "compared_b": norm.compared_b,
                      "a_ahead_normalized": norm.a_ahead, "b_ahead_normalized": norm.b_ahead,
                      "chance_gap_normalized": norm.chance_gap,
                      "too_few_for_p": min(sizes) < MIN_TRUSTED_N,
                      "differences": differences, "verdict": verdict})
    return {"spaces": spaces, "pairs": pairs, "bins": bins, "bin_edges": edges.tolist(),
            "resamples": resamples}


def setup_differences(a: dict, b: dict) -> list[str]:
    """How two sweeps' setups differ beyond their space and sampling seed (training
    recipe, data, input, complexity band): EDFs of sweeps trained or banded differently
    say nothing about their spaces. Where each ran (data folder, device) does not count."""
    a, b = sweep_identity(a), sweep_identity(b)
    train_a, train_b = a.pop("train"), b.pop("train")
    keys = sorted((set(a) | set(b)) - {"space", "seed"})
    out = [f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]
    recipe_a, recipe_b = {**PAPER_RECIPE, **train_a}, {**PAPER_RECIPE, **train_b}
    out += [f"{k} {recipe_a.get(k)!r} vs {recipe_b.get(k)!r}"
            for k in sorted(set(recipe_a) | set(recipe_b)) if recipe_a.get(k) != recipe_b.get(k)]
    return out


# ---------------------------------------------------------------- plots
# Drawn by design/report_figures.py, 4.6 inches wide: 9 pt text reads on a phone, on a
# laptop and on paper (side by side, 11 inches of EDFs had 3 px text on a phone).


def plot_edfs(results: list[SpaceResult], edges, path: Path,
              caption: str | None = None, context: str | None = None) -> Path:
    """EDF of error per space, plain and complexity-normalised (:func:`edf_figure`),
    written to ``path``."""
    return save_figure(edf_figure(results, edges, caption, context), path,
                       layout=caption is None)


def plot_error_vs_macs(results: list[SpaceResult], path: Path,
                       caption: str | None = None, context: str | None = None) -> Path:
    """Every trial's error against its MACs (:func:`error_vs_macs_figure`), written to
    ``path``."""
    return save_figure(error_vs_macs_figure(results, caption, context), path,
                       layout=caption is None)


# ---------------------------------------------------------------- the report


_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}" + NARROW_STYLE
          + "table{border-collapse:collapse;margin:1em 0}"
          # Cells read from their top left, as the run report's: centred, a header
          # stood apart from its column of text, and a short cell floated mid-way down
          # a row that a long one (a verdict, wrapped on a phone) made tall.
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          ".num{text-align:right;font-variant-numeric:tabular-nums}"
          "img{max-width:100%}figure{margin:1em 0}figcaption{max-width:60em;color:#444}"
          + FIGURE_STYLE)


def write_html(summary: dict, images: list[Path], path: Path) -> Path:
    spaces = summary["spaces"]
    best = best_trials_rows(spaces)
    sections = ["<h2>Setup</h2>"]
    for heading, header, rows in setup_tables(spaces):
        sections += [f"<h3>{html.escape(heading)}</h3>", html_table(header, rows)]
    sections += ["<h2>Spaces</h2>", html_table(*space_table(summary))]
    if images:  # the main result: before the tables of details, not after the notes
        sections += ["<h2>Error distributions</h2>",
                     *(embed_png(p, *FIGURE_WORDS.get(p.name, (None, None))) for p in images)]
    if best:
        sections += ["<h2>Best networks (lowest error first)</h2>",
                     html_table(BEST_HEADER, best)]
    if summary["pairs"]:
        sections += ["<h2>Comparisons</h2>", html_table(*pair_table(summary))]
    sections += ["<h2>Notes</h2>",
                 "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in report_notes(summary))
                 + "</ul>"]
    page = page_head("cnnlab design-space report", _STYLE) + f"""
<h1>Design-space report</h1>
{"".join(sections)}
</body></html>
"""
    atomic_write_text(path, page)
    return path


class NothingFinished(SweepError):
    """No sweep given to :func:`analyze` has a finished trial: there is nothing to
    analyse, and nothing was written."""


def check_finished(results: list[SpaceResult], out: Path) -> None:
    """Refuse sweeps none of whose trials finished, naming each one's counts: their report
    said "no finished trial" under a full setup, and `design analyze` ended as if it had
    analysed them (exit 0), so a script could not tell. Nothing is written: a report
    already in ``out`` stays as it was."""
    if any(r.rows for r in results):
        return
    counts = "; ".join(f"{r.directory}: " + ", ".join(
        f"{r.counts.get(k, 0)} {k}" for k in ("done", "failed", "pending", "running"))
        for r in results)
    sweep = shell_quote(str(results[0].directory)) if len(results) == 1 else "SWEEP"
    failed = any(r.counts.get("failed") and not r.failures_diverged for r in results)
    raise NothingFinished(
        f"no trial has finished ({counts}): nothing to analyse, and nothing was written to "
        f"{out}. Train some first (`cnnlab design status {sweep}` says how far it is and "
        "how to finish it" + (f"; failed trials train again with `cnnlab design run "
        f"--resume {sweep} --retry-failed`" if failed else "") + ")")


class InterruptedAfterWriting(KeyboardInterrupt):
    """Ctrl-C came while the finished report's files were moved into ``out``: held back
    until all were, so ``out`` holds this analysis's report, whole."""


def analyze(directories: str | os.PathLike | Sequence[str | os.PathLike], out: str | Path,
            bins: int = 10, resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Write the report files for the sweeps in ``directories`` (one folder, or several)
    into ``out``; return the summary (an :class:`~cnnlab.design.analysis.Analysis`: a
    dict, shown as the report's tables). ``bins``: log-spaced MACs bins of the normalised
    EDFs; ``resamples``: bootstrap resamples and permutations, drawn from ``seed``.

    ``out`` must be missing, empty or an earlier analysis's folder (:func:`check_report_folder`).
    Raises :class:`NothingFinished`, writing nothing, when no sweep has a finished trial.
    """
    out = Path(out)
    results = load_sweeps(directories)  # first: a wrong folder is named before any is made
    check_report_folder(out)  # a wrong --out is refused (exit 2) whatever the sweeps hold
    check_finished(results, out)
    summary = summarize(results, bins=bins, resamples=resamples, seed=seed)  # the slow part
    make_folder(out, "--out")
    # Every file is drawn in a hidden folder inside ``out``, then all are moved in at once:
    # stopped while drawing (Ctrl-C), an analysis had left its new summary.json beside an
    # earlier one's figures and report.html, which disagreed with it unsaid. Now ``out``
    # holds the earlier report whole, or this one. (".tmp": not another tool's file.)
    staging = Path(tempfile.mkdtemp(prefix=".analysis-", suffix=".tmp", dir=out))
    try:
        atomic_write_text(staging / "summary.md", markdown_summary(summary))
        atomic_write_text(staging / "summary.json",
                          json.dumps({"format": REPORT_FORMAT, **summary}, indent=1))
        images = []
        if any(r.rows for r in results):
            caption = not_comparable_caption(summary["pairs"])
            context = figure_context(summary["spaces"])
            images = [plot_edfs(results, np.array(summary["bin_edges"]),
                                staging / "edf.png", caption, context),
                      plot_error_vs_macs(results, staging / "error_vs_macs.png", caption,
                                         context)]
        write_html(summary, images, staging / "report.html")
        written = [p.name for p in staging.iterdir()]
        # The renames go together: a Ctrl-C among them had left some of the new files
        # beside some of the earlier report's. Held back until they are done, it says so.
        try:
            with SigintRecorder() as sigint, sigint.deferred():
                for name in written:
                    replace_file(staging / name, out / name)  # an image viewer may hold one
                for name in set(REPORT_FILES) - set(written):  # an earlier report's figures
                    (out / name).unlink(missing_ok=True)
                for copy in figure_copies_of(out):  # and their SVG/PDF copies
                    if copy.name not in written:
                        copy.unlink(missing_ok=True)
        except KeyboardInterrupt:
            raise InterruptedAfterWriting(str(out)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary["files"] = [str(out / name) for name in REPORT_FILES if name in written]
    return Analysis(summary)  # a dict, shown as the report's tables


def figure_copies_of(out: Path) -> list[Path]:
    """Where an earlier report's figures in ``out`` had copies in CNNLAB_FIGURE_FORMATS's
    formats (edf.svg, error_vs_macs.pdf, ...): this report's, if asked, are among those
    written."""
    from cnnlab.figures import figure_copies

    return [copy for name in REPORT_FILES if name.endswith(".png")
            for copy in figure_copies(out / name)]
