"""The zoo's Markdown table and figures, drawn from its stored rows (strings, as the CSV
gives them back, or numbers).

Made to be put on a slide as they are, so each says what it compares.
"""

from __future__ import annotations

import math
from pathlib import Path

from cnnlab.models import UnknownModelError, model_info

_DATA_NAMES = {"fashion-mnist": "Fashion-MNIST", "synthetic": "synthetic data"}


# -- numbers as text ---------------------------------------------------------------

def number(value) -> float | None:
    """A stored cell as a float; None for a blank, missing or NaN one."""
    if value is None or value == "":
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _round_sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}") if x else 0.0


def sig3(x: float) -> str:
    """Three significant figures, thousands separated: 14055 -> '14,100', 13.85 -> '13.8'."""
    r = _round_sig(x)
    return f"{r:,.0f}" if abs(r) >= 100 else f"{r:.3g}"


def si(x: float, digits: int = 3) -> str:
    """An SI-prefixed count to ``digits`` significant figures: 281640 -> '282K',
    1.8e9 -> '1.8G', 300000 -> '300K'."""
    r = _round_sig(x, digits)
    if r == 0:
        return "0"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(r) >= scale:
            return f"{r / scale:.{digits}g}{prefix}"
    return f"{r:.{digits}g}"


# -- what a row says, old rows included ---------------------------------------------

def input_text(row: dict) -> str:
    """'1x28x28'. Rows stored before the channels were kept give the side alone; the
    model's own channels fill it in."""
    value = str(row.get("input_size", ""))
    if "x" in value or not value:
        return value
    try:
        channels = model_info(row["model"]).input_size[0]
    except (UnknownModelError, KeyError):
        return f"{value}x{value}"
    return f"{channels}x{value}x{value}"


def input_side(row: dict) -> str:
    return input_text(row).rsplit("x", 1)[-1]


def book_epochs(row: dict) -> int | None:
    """The epochs behind the book's number (older rows: the model's recipe says)."""
    stored = number(row.get("book_epochs"))
    if stored is not None:
        return int(stored)
    try:
        recipe = model_info(row["model"]).book_recipe
    except (UnknownModelError, KeyError):
        return None
    return recipe.epochs if recipe else None


def _flag(value) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _epochs_phrase(values: list[int]) -> str:
    """'1 epoch', '10 epochs', or '1-10 epochs' when rows differ."""
    values = sorted(set(values))
    if not values:
        return "epochs unknown"
    if len(values) == 1:
        return f"{values[0]} epoch" + ("" if values[0] == 1 else "s")
    return f"{values[0]}-{values[-1]} epochs"


def _data_name(rows: list[dict]) -> str:
    import json

    names = set()
    for r in rows:
        try:
            names.add(json.loads(r.get("setup") or "{}").get("data", ""))
        except ValueError:
            names.add("")
    if len(names) != 1 or not next(iter(names)):
        return ""
    data = names.pop()
    return _DATA_NAMES.get(data, data)


# -- the Markdown table -------------------------------------------------------------

_HEAD = [("model", "---"), ("test acc", "---:"), ("the book (epochs)", "---:"),
         ("params", "---:"), ("MACs", "---:"), ("input", "---:"), ("train img/s", "---:"),
         ("peak MiB", "---:"), ("train time", "---:"), ("epochs", "---:"),
         ("machine", "---")]


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (numbers right-aligned, to three significant figures
    where they are measurements), with the notes that say how to read it."""
    lines = ["| " + " | ".join(h for h, _ in _HEAD) + " |",
             "|" + "|".join(a for _, a in _HEAD) + "|"]
    warm, no_peak = False, False
    for r in rows:
        if r.get("status") != "done":
            lines.append(f"| {r['model']} | failed: {r.get('error', '')} |"
                         + " |" * (len(_HEAD) - 2))
            continue
        book, ep = number(r.get("book_acc")), book_epochs(r)
        book_cell = f"{100 * book:.1f}% ({ep} ep)" if book is not None and ep else (
            f"{100 * book:.1f}%" if book is not None else "n/a")
        peak = number(r.get("peak_memory_mib"))
        no_peak = no_peak or peak is None
        first = _flag(r.get("first_in_process"))
        warm = warm or first
        lines.append("| " + " | ".join([
            r["model"], f"{100 * float(r['test_acc']):.2f}%", book_cell,
            f"{int(float(r['params'])):,}", si(float(r["macs"])), input_text(r),
            sig3(float(r["images_per_s"])) + (" †" if first else ""),
            sig3(peak) if peak is not None else "n/a",
            f"{sig3(float(r['wall_time_s']))} s" + (" †" if first else ""),
            str(r["epochs"]), r.get("machine", ""),
        ]) + " |")
    notes = [
        "test acc: on the test split after the epochs given. The book: Dive into Deep "
        "Learning's accuracy after its own epochs, read off its plots; n/a: the book does "
        "not train that model.",
        "MACs: multiply-adds of one forward pass at the input size (convolutions and "
        "matrix products). train img/s: the last epoch's; train time: training seconds "
        "of all epochs, evaluation excluded.",
    ]
    if no_peak:
        notes.append("peak MiB: the CUDA allocator's peak while the model trained; n/a "
                     "off CUDA (a CPU has no per-model counter: the process's peak resident "
                     "memory only grows, from model to model).")
    if warm:
        notes.append("†: the first model its bench process trained; its time includes "
                     "one-time start-up (torch, the data pipeline), so it reads slower "
                     "than the same network trained later.")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


# -- figures ---------------------------------------------------------------------

def plot_zoo(rows: list[dict], stem: Path) -> list[Path]:
    from cnnlab.figures import save_figure, subplots

    names = [r["model"] for r in rows]
    acc = [100 * float(r["test_acc"]) for r in rows]
    book = [100 * float(r["book_acc"]) if r.get("book_acc") else None for r in rows]
    paths = []
    fig, ax = subplots(figsize=(max(6, 0.7 * len(rows) + 2), 4.5))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], acc, width=0.4, label="cnnlab")
    ax.bar([x + 0.2 for x in xs], [b or 0 for b in book], width=0.4, label="the book")
    ax.set_xticks(list(xs), names, rotation=40, ha="right")
    lo = min([a for a in acc + [b for b in book if b] if a > 0] or [0])
    ax.set(ylabel="test accuracy (%)", ylim=(max(0, lo - 5), 100), title="Test accuracy")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    paths.append(save_figure(fig, f"{stem}-accuracy.png"))
    for key, label in (("macs", "MACs per image"), ("params", "parameters")):
        fig, ax = subplots(figsize=(7, 5))
        times = [float(r["wall_time_s"]) for r in rows]
        sizes = [40 + 400 * t / max(times) for t in times]
        ax.scatter([float(r[key]) for r in rows], acc, s=sizes, alpha=0.6)
        for r, a in zip(rows, acc, strict=True):
            ax.annotate(r["model"], (float(r[key]), a), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")
        ax.set(xscale="log", xlabel=f"{label} (log)", ylabel="test accuracy (%)",
               title=f"Accuracy vs {label} (bubble: training time)")
        ax.grid(alpha=0.3)
        paths.append(save_figure(fig, f"{stem}-acc-vs-{key}.png"))
    return paths
