"""Analysis of finished sweeps: numbers (summary.json), a Markdown table, plots, HTML.

``analyze(["sweeps/a", "sweeps/b"], out="report")`` reads each sweep's store and
writes, into ``out``:

- ``summary.json`` and ``summary.md``: per space the finished and failed trials, the
  best error with the bootstrap range of the best of n, median error, MACs range; per pair of
  spaces the KS statistic and p-value of the plain and complexity-normalised EDFs;
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.atomic import atomic_write_text
from cnnlab.design.edf import (
    bootstrap_best,
    complexity_bin_edges,
    complexity_weights,
    edf_curve,
    edf_gaps,
    ks_test,
)
from cnnlab.design.folders import others_files
from cnnlab.design.spaces import format_band
from cnnlab.design.store import (
    PAPER_RECIPE,
    SweepError,
    TrialStore,
    make_folder,
    sweep_identity,
)
from cnnlab.figures import embed_png, literal, save_figure, subplots


@dataclass
class SpaceResult:
    """One sweep's finished trials."""

    label: str
    directory: str
    spec: dict
    counts: dict
    rows: list[dict] = field(repr=False)

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
                                       store.trials("done")))
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
               "macs_band": r.spec.get("macs")}
        if r.rows:
            best = bootstrap_best(r.errors, resamples=resamples, seed=seed)
            row.update(best_error=best.best, best_low=best.low, best_high=best.high,
                       best_level=best.level, median_error=float(np.median(r.errors)),
                       mean_error=float(np.mean(r.errors)), macs_min=float(r.macs.min()),
                       macs_max=float(r.macs.max()),
                       mean_train_time_s=float(np.mean([t["train_time_s"] for t in r.rows])))
        spaces.append(row)
    pairs = []
    for a, b in itertools.combinations(usable, 2):
        plain = ks_test(a.errors, b.errors)
        weights = complexity_weights(a.macs, edges), complexity_weights(b.macs, edges)
        norm = ks_test(a.errors, b.errors, *weights)
        a_ahead, b_ahead = edf_gaps(a.errors, b.errors, *weights)
        differences = setup_differences(a.spec, b.spec)
        verdict = (_verdict(a.label, b.label, a_ahead, b_ahead, norm.pvalue) if not differences
                   else "not comparable, trained or sampled differently: "
                        + "; ".join(differences))
        pairs.append({"a": a.label, "b": b.label, "ks": plain.statistic, "p": plain.pvalue,
                      "ks_normalized": norm.statistic, "p_normalized": norm.pvalue,
                      "n_eff_a": norm.n_a, "n_eff_b": norm.n_b,
                      "a_ahead_normalized": a_ahead, "b_ahead_normalized": b_ahead,
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


def _verdict(a: str, b: str, a_ahead: float, b_ahead: float, p: float,
             level: float = 0.05) -> str:
    """Which space is better, judged on the complexity-normalised EDFs as the paper does."""
    if p >= level:
        return f"no significant difference (p >= {level:g})"
    winner, ahead, behind = (a, a_ahead, b_ahead) if a_ahead >= b_ahead else (b, b_ahead, a_ahead)
    where = "never below" if behind == 0 else f"below by up to {behind:.2f} elsewhere"
    return f"{winner} better: its EDF is above by up to {ahead:.2f}, {where}"


# ---------------------------------------------------------------- tables


def _f(value, fmt: str = ".2f") -> str:
    return "" if value is None else format(value, fmt)


def markdown_summary(summary: dict) -> str:
    """Two Markdown tables: one row per space, one row per pair of spaces."""
    lines = ["| space | done | failed | best error % | best of n, bootstrap range % | "
             "median error % | MACs range | mean train time |", "|" + "---|" * 8]
    for s in summary["spaces"]:
        if "best_error" not in s:
            lines.append(f"| {s['label']} | {s['done']} | {s['failed']} | no finished trial "
                         "| | | | |")
            continue
        ci = f"{100 * s['best_level']:.0f}%: {s['best_low']:.2f}-{s['best_high']:.2f}"
        lines.append(f"| {s['label']} | {s['done']} | {s['failed']} | {s['best_error']:.2f} | "
                     f"{ci} | {s['median_error']:.2f} | {s['macs_min'] / 1e6:.2f}M-"
                     f"{s['macs_max'] / 1e6:.2f}M | {s['mean_train_time_s']:.1f} s |")
    out = "\n".join(lines) + "\n"
    if summary["pairs"]:
        lines = ["", "| A | B | KS D | p | KS D (normalised) | p (normalised) | verdict |",
                 "|" + "---|" * 7]
        for p in summary["pairs"]:
            lines.append(f"| {p['a']} | {p['b']} | {p['ks']:.3f} | {p['p']:.3g} | "
                         f"{p['ks_normalized']:.3f} | {p['p_normalized']:.3g} | "
                         f"{p['verdict']} |")
        out += "\n".join(lines) + "\n"
    return out


def _html_table(markdown: str) -> str:
    # Our own two tables only: rows of cells between pipes, the second line a rule.
    blocks, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
        elif current:
            blocks.append(current)
            current = []
    out = []
    for rows in blocks:
        head = "".join(f"<th>{c}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows[2:])
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(out)


# ---------------------------------------------------------------- plots


def plot_edfs(results: list[SpaceResult], edges, path: Path) -> Path:
    """EDF of error per space, plain (left) and complexity-normalised (right)."""
    fig, axes = subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for r in results:
        if not r.rows:
            continue
        x, y = edf_curve(r.errors)
        axes[0].step(np.r_[x[0], x], np.r_[0.0, y], where="post",
                     label=literal(f"{r.label} (n={len(r.rows)})"))
        x, y = edf_curve(r.errors, complexity_weights(r.macs, edges))
        axes[1].step(np.r_[x[0], x], np.r_[0.0, y], where="post", label=literal(r.label))
    axes[0].set(xlabel="error (%)", ylabel="cumulative probability", title="EDF of error")
    axes[1].set(xlabel="error (%)", title=f"complexity-normalised EDF ({len(edges) - 1} bins)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


def plot_error_vs_macs(results: list[SpaceResult], path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter

    fig, ax = subplots(figsize=(6.5, 4.2))
    for r in results:
        if r.rows:
            ax.scatter(r.macs / 1e6, r.errors, s=12, alpha=0.7, label=literal(r.label))
    ax.set(xscale="log", xlabel="MACs (millions, log scale)", ylabel="error (%)",
           title="error against complexity")
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 6, 10, 20 rather than 6x10^0
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


# ---------------------------------------------------------------- the report


def write_html(summary: dict, markdown: str, images: list[Path], path: Path) -> Path:
    setup = []
    for s in summary["spaces"]:
        band = f"{format_band(s.get('macs_band'))} MACs"
        setup.append(f"<li>{html.escape(s['label'])}: {html.escape(s['directory'])}, "
                     f"{s['epochs']} epoch(s), {band}</li>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>cnnlab design-space report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px}}
img{{max-width:100%}}</style></head><body>
<h1>Design-space report</h1>
<ul>{"".join(setup)}</ul>
{_html_table(markdown)}
<p>Error: top-1 test error after the last epoch. Best of n: the range of the best of n
models resampled with replacement ({summary["resamples"]} resamples), which shows how much
the best owes to the models drawn; not a confidence interval (its lower end is the
observed best). KS p-values: asymptotic Kolmogorov distribution; the normalised test
weights each model by 1/(k m_j), m_j the models in its bin and k the bins holding any, of
{summary["bins"]} log-spaced MACs bins (effective sample sizes for the p-value).</p>
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
        written = json.loads((out / "summary.json").read_text())
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
        images = [plot_edfs(results, np.array(summary["bin_edges"]), out / "edf.png"),
                  plot_error_vs_macs(results, out / "error_vs_macs.png")]
    write_html(summary, markdown, images, out / "report.html")
    summary["files"] = [str(p) for p in (out / "summary.md", out / "summary.json",
                                         *images, out / "report.html")]
    return summary
