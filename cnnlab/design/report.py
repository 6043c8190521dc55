"""Analysis of finished sweeps: numbers (summary.json), a Markdown table, plots, HTML.

``analyze(["sweeps/a", "sweeps/b"], out="report")`` reads each sweep's store and
writes, into ``out``:

- ``summary.json`` and ``summary.md``: per space how the sweep was set up (training and
  test images, recipe, seed, date, machine, versions: :mod:`cnnlab.design.describe`), the
  finished and failed trials, the best error with the bootstrap range of the best of n,
  median error, MACs range and the best few networks; per pair of spaces the KS
  statistic and p-value of the plain and complexity-normalised EDFs, and a verdict that
  says when too few models were trained for its p-value to be trusted;
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
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.atomic import atomic_write_text
from cnnlab.design.describe import (
    BEST_HEADER,
    NOT_RECORDED,
    best_trials,
    best_trials_rows,
    markdown_table,
    setup_tables,
    sweep_setup,
)
from cnnlab.design.edf import (
    bootstrap_best,
    complexity_bin_edges,
    complexity_weights,
    edf_curve,
    edf_gaps,
    ks_test,
)
from cnnlab.design.folders import others_files
from cnnlab.design.store import (
    PAPER_RECIPE,
    SweepError,
    TrialStore,
    make_folder,
    sweep_identity,
)
from cnnlab.figures import embed_png, literal, save_figure, subplots
from cnnlab.train.report import html_table


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

    @property
    def errors(self) -> np.ndarray:
        return np.array([r["error_pct"] for r in self.rows], dtype=np.float64)

    @property
    def macs(self) -> np.ndarray:
        return np.array([r["macs"] for r in self.rows], dtype=np.float64)


def load_sweeps(directories) -> list[SpaceResult]:
    """Each sweep's done trials, labelled by space (plus the folder when spaces repeat)."""
    results = []
    for d in directories:
        with TrialStore(d) as store:
            spec = store.spec().to_dict()  # one whose creation was cut off: named
            results.append(SpaceResult(spec["space"], str(d), spec, store.counts(),
                                       store.trials("done"), store.meta().get("created", {}),
                                       store.planned()))
    names = [r.label for r in results]
    for r in results:
        if names.count(r.label) > 1:
            r.label = f"{r.label} ({Path(r.directory).name})"
    return results


def summarize(results: list[SpaceResult], bins: int = 10, resamples: int = 2000,
              seed: int = 0) -> dict:
    """Per-space and per-pair statistics (see the module docstring), as plain values."""
    usable = [r for r in results if r.rows]
    all_macs = np.concatenate([r.macs for r in usable]) if usable else np.array([])
    edges = complexity_bin_edges(all_macs, bins) if usable else np.array([])
    spaces = []
    for r in results:
        row = {"label": r.label, "space": r.spec["space"], "directory": r.directory,
               **{k: r.counts.get(k, 0) for k in ("done", "failed", "pending", "running")},
               "epochs": {**PAPER_RECIPE, **r.spec.get("train", {})}["epochs"],
               "macs_band": r.spec.get("macs"),
               "setup": sweep_setup(r.spec, r.created, r.planned, r.counts, r.rows)}
        if r.rows:
            best = bootstrap_best(r.errors, resamples=resamples, seed=seed)
            row.update(best_error=best.best, best_low=best.low, best_high=best.high,
                       best_level=best.level, median_error=float(np.median(r.errors)),
                       mean_error=float(np.mean(r.errors)), macs_min=float(r.macs.min()),
                       macs_max=float(r.macs.max()),
                       mean_train_time_s=float(np.mean([t["train_time_s"] for t in r.rows])),
                       best_trials=best_trials(r.rows))
        spaces.append(row)
    pairs = []
    for a, b in itertools.combinations(usable, 2):
        plain = ks_test(a.errors, b.errors)
        weights = complexity_weights(a.macs, edges), complexity_weights(b.macs, edges)
        norm = ks_test(a.errors, b.errors, *weights)
        a_ahead, b_ahead = edf_gaps(a.errors, b.errors, *weights)
        differences = setup_differences(a.spec, b.spec)
        sizes = (len(a.rows), len(b.rows))
        verdict = (_verdict(a.label, b.label, a_ahead, b_ahead, norm.pvalue, sizes=sizes)
                   if not differences else "not comparable, trained or sampled differently: "
                   + "; ".join(differences))
        pairs.append({"a": a.label, "b": b.label, "ks": plain.statistic, "p": plain.pvalue,
                      "ks_normalized": norm.statistic, "p_normalized": norm.pvalue,
                      "n_eff_a": norm.n_a, "n_eff_b": norm.n_b,
                      "a_ahead_normalized": a_ahead, "b_ahead_normalized": b_ahead,
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


# Below this many models in a space the asymptotic KS p-value is not to be trusted: the
# Kolmogorov limit is for large samples, and the normalised test's effective sizes are
# smaller still. A verdict on fewer says so (the paper sampled 500 per space).
MIN_TRUSTED_N = 30


def _verdict(a: str, b: str, a_ahead: float, b_ahead: float, p: float,
             level: float = 0.05, sizes: tuple[int, int] | None = None) -> str:
    """Which space is better, judged on the complexity-normalised EDFs as the paper does.

    The gap quoted is the winner's lead, which is the normalised KS D (said so, beside
    the table's plain D). With ``sizes`` below :data:`MIN_TRUSTED_N` the verdict says the
    p-value behind it is not to be trusted."""
    if p >= level:
        words = f"no significant difference (p >= {level:g})"
    else:
        winner, ahead, behind = ((a, a_ahead, b_ahead) if a_ahead >= b_ahead
                                 else (b, b_ahead, a_ahead))
        where = "never below" if behind == 0 else f"below by up to {behind:.3f} elsewhere"
        words = (f"{winner} better: its normalised EDF is above by up to {ahead:.3f} "
                 f"(the normalised KS D), {where}")
    if sizes is not None and min(sizes) < MIN_TRUSTED_N:
        words += (f"; but {sizes[0]} and {sizes[1]} models are too few (under "
                  f"{MIN_TRUSTED_N} per space) for the asymptotic p-value to be trusted: "
                  "sample more before concluding")
    return words


# ---------------------------------------------------------------- tables


def _space_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    header = ["space", "done", "failed", "best error %", "best of n, bootstrap range %",
              "median error %", "MACs range", "mean train time"]
    rows = []
    for s in summary["spaces"]:
        if "best_error" not in s:
            rows.append([s["label"], s["done"], s["failed"], "no finished trial", "", "", "",
                         ""])
            continue
        ci = f"{100 * s['best_level']:.0f}%: {s['best_low']:.2f}-{s['best_high']:.2f}"
        rows.append([s["label"], s["done"], s["failed"], f"{s['best_error']:.2f}", ci,
                     f"{s['median_error']:.2f}",
                     f"{s['macs_min'] / 1e6:.2f}M-{s['macs_max'] / 1e6:.2f}M",
                     f"{s['mean_train_time_s']:.1f} s"])
    return header, rows


def _pair_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    header = ["A", "B", "KS D (plain EDFs)", "p (plain, asymptotic)",
              "KS D (normalised EDFs)", "p (normalised, asymptotic)",
              "verdict (on the normalised EDFs)"]
    return header, [[p["a"], p["b"], f"{p['ks']:.3f}", f"{p['p']:.3g}",
                     f"{p['ks_normalized']:.3f}", f"{p['p_normalized']:.3g}", p["verdict"]]
                    for p in summary["pairs"]]


def _notes(summary: dict) -> list[str]:
    """What the numbers are, shared by summary.md and report.html."""
    small = [f"{s['label']} ({s['done']})" for s in summary["spaces"]
             if s.get("best_error") is not None and s["done"] < MIN_TRUSTED_N]
    p_note = ("KS p-values: asymptotic (the Kolmogorov distribution), trustworthy for the "
              "hundreds of models a design-space study trains")
    if small:
        p_note += (f". Here {', '.join(small)} finished too few models (under "
                   f"{MIN_TRUSTED_N}) for them to be trusted: read D and the EDFs, not p, "
                   "and sample more before concluding")
    return [
        "Error: top-1 test error after the last epoch, on the test images the setup "
        "names; lower is better.",
        f"Best of n: the range of the best of n models resampled with replacement "
        f"({summary['resamples']} resamples), which shows how much the best owes to the "
        "models drawn; not a confidence interval (its lower end is the observed best).",
        p_note + ".",
        f"KS D: the largest vertical gap between two EDFs. The normalised test weights each "
        f"model by 1/(k m_j), m_j the models in its bin and k the bins holding any, of "
        f"{summary['bins']} log-spaced MACs bins (effective sample sizes for its p-value); "
        "the verdict quotes the normalised D.",
        "Best networks: each as trained (widths and group widths as adjusted to fit); "
        "bottleneck ratio = inner width / block width; acts = activations per image, the "
        "output elements of every conv and of the head (the RegNet paper's third "
        "complexity measure).",
        f"Not recorded in a sweep: {NOT_RECORDED}.",
    ]


def markdown_summary(summary: dict) -> str:
    """The report as Markdown: setup, one row per space, the best networks, one row per
    pair of spaces, and what the numbers are."""
    spaces = summary["spaces"]
    parts = ["## Setup\n"]
    for heading, header, rows in setup_tables(spaces):
        parts += [f"\n{heading}:\n\n", markdown_table(header, rows)]
    parts += ["\n## Spaces\n", markdown_table(*_space_table(summary))]
    best = best_trials_rows(spaces)
    if best:
        parts += ["\n## Best networks (lowest error first)\n",
                  markdown_table(BEST_HEADER, best)]
    if summary["pairs"]:
        parts += ["\n## Comparisons\n", markdown_table(*_pair_table(summary))]
    parts += ["\n## Notes\n", "".join(f"- {n}\n" for n in _notes(summary))]
    return "".join(parts)


# ---------------------------------------------------------------- plots

ERROR_AXIS = "top-1 test error (%): left is better"


def not_comparable_caption(pairs: list[dict]) -> str | None:
    """What a figure of these sweeps must say when some were trained or sampled
    differently: their curves overlaid look like a comparison that the report's table
    calls "not comparable". None when every pair compares."""
    differing = [f"{p['a']} vs {p['b']}: {'; '.join(p['differences'])}"
                 for p in pairs if p["differences"]]
    if not differing:
        return None
    return "Not comparable, trained or sampled differently (" + " | ".join(differing) + ")"


def _caption(fig, caption: str | None) -> None:
    """``caption`` under the axes in red, wrapped to the figure's width (three lines at
    most), with room kept for it."""
    if not caption:
        return
    lines = textwrap.wrap(caption, width=int(fig.get_figwidth() * 15), max_lines=3,
                          placeholder=" ... (the report's table has it all)")
    fig.text(0.5, 0.01, "\n".join(lines), ha="center", va="bottom", fontsize=8,
             color="#b00020")
    fig.tight_layout(rect=(0, 0.02 + 0.04 * len(lines), 1, 1))


def plot_edfs(results: list[SpaceResult], edges, path: Path,
              caption: str | None = None) -> Path:
    """EDF of error per space, plain (left) and complexity-normalised (right), each
    with its legend: a curve further up and to the left is the better space. A
    ``caption`` (:func:`not_comparable_caption`) goes under them."""
    fig, axes = subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for r in results:
        if not r.rows:
            continue
        label = literal(f"{r.label} (n={len(r.rows)})")
        x, y = edf_curve(r.errors)
        axes[0].step(np.r_[x[0], x], np.r_[0.0, y], where="post", label=label)
        x, y = edf_curve(r.errors, complexity_weights(r.macs, edges))
        axes[1].step(np.r_[x[0], x], np.r_[0.0, y], where="post", label=label)
    axes[0].set(xlabel=ERROR_AXIS, ylabel="fraction of models below this error\n"
                                         "(up is better)", title="EDF of error")
    axes[1].set(xlabel=ERROR_AXIS,
                title=f"Complexity-normalised EDF ({len(edges) - 1} MACs bins)")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=9, framealpha=0.9)
    _caption(fig, caption)
    return save_figure(fig, path, layout=caption is None)


def plot_error_vs_macs(results: list[SpaceResult], path: Path,
                       caption: str | None = None) -> Path:
    from matplotlib.ticker import FuncFormatter

    fig, ax = subplots(figsize=(6.5, 4.4))
    for r in results:
        if r.rows:
            ax.scatter(r.macs / 1e6, r.errors, s=12, alpha=0.7,
                       label=literal(f"{r.label} (n={len(r.rows)})"))
    ax.set(xscale="log", xlabel="MACs (millions, log scale)",
           ylabel="top-1 test error (%): lower is better", title="Error against complexity")
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 6, 10, 20 rather than 6x10^0
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, framealpha=0.9)
    _caption(fig, caption)
    return save_figure(fig, path, layout=caption is None)


# ---------------------------------------------------------------- the report


def write_html(summary: dict, images: list[Path], path: Path) -> Path:
    spaces = summary["spaces"]
    best = best_trials_rows(spaces)
    sections = ["<h2>Setup</h2>"]
    for heading, header, rows in setup_tables(spaces):
        sections += [f"<h3>{html.escape(heading)}</h3>", html_table(header, rows)]
    sections += ["<h2>Spaces</h2>", html_table(*_space_table(summary))]
    if best:
        sections += ["<h2>Best networks (lowest error first)</h2>",
                     html_table(BEST_HEADER, best)]
    if summary["pairs"]:
        sections += ["<h2>Comparisons</h2>", html_table(*_pair_table(summary))]
    sections += ["<h2>Notes</h2>",
                 "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in _notes(summary))
                 + "</ul>"]
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>cnnlab design-space report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px}}
.num{{text-align:right;font-variant-numeric:tabular-nums}}
img{{max-width:100%}}</style></head><body>
<h1>Design-space report</h1>
{"".join(sections)}
{"".join(embed_png(p) for p in images)}
</body></html>
"""
    atomic_write_text(path, page)
    return path


# Written into summary.json: how a later analysis knows the folder as an earlier one's
# report, which it may replace, rather than someone else's files (a training run's own
# report.html and summary.json), which it must not.
REPORT_FORMAT = "cnnlab design analysis"
REPORT_FILES = ("summary.md", "summary.json", "edf.png", "error_vs_macs.png", "report.html")


def _earlier_report(out: Path) -> bool:
    """Whether ``out`` holds a report :func:`analyze` wrote."""
    try:
        written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(written, dict):
        return False
    if written.get("format") == REPORT_FORMAT:
        return True
    # Written before the marker (the default DIR/analysis of older cnnlab): its keys, and
    # nothing in the folder but its files.
    return {"spaces", "pairs", "bin_edges"} <= set(written) and not others_files(
        out, own=REPORT_FILES)


def check_report_folder(out: Path) -> None:
    """Refuse a report folder holding files other than an earlier report's: the report's
    files (report.html, summary.json, ...) would overwrite theirs. A missing or empty
    folder, or an earlier analysis's, is fine."""
    if not out.is_dir() or _earlier_report(out):
        return  # a file in its place is named by make_folder
    shown = others_files(out)
    if shown:
        raise SweepError(f"{out} already holds other files ({shown}) and is not an earlier "
                         f"design analysis: the report ({', '.join(REPORT_FILES)}) would "
                         "overwrite or mix with them. Pick another --out (a new or empty "
                         "folder)")


def analyze(directories, out: str | Path, bins: int = 10, resamples: int = 2000,
            seed: int = 0) -> dict:
    """Write the report files for these sweeps into ``out``; return the summary.

    ``out`` must be missing, empty or an earlier analysis's folder (:func:`check_report_folder`).
    """
    out = Path(out)
    results = load_sweeps(directories)  # first: a wrong folder is named before any is made
    check_report_folder(out)
    make_folder(out, "--out")
    summary = summarize(results, bins=bins, resamples=resamples, seed=seed)
    markdown = markdown_summary(summary)
    atomic_write_text(out / "summary.md", markdown)
    atomic_write_text(out / "summary.json", json.dumps({"format": REPORT_FORMAT, **summary},
                                                       indent=1))
    images = []
    if any(r.rows for r in results):
        caption = not_comparable_caption(summary["pairs"])
        images = [plot_edfs(results, np.array(summary["bin_edges"]), out / "edf.png", caption),
                  plot_error_vs_macs(results, out / "error_vs_macs.png", caption)]
    write_html(summary, images, out / "report.html")
    summary["files"] = [str(p) for p in (out / "summary.md", out / "summary.json",
                                         *images, out / "report.html")]
    return summary
