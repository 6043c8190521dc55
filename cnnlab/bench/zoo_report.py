"""The zoo's Markdown table and figures, drawn from its stored rows (strings, as the CSV
gives them back, or numbers).

Made to be put on a slide as they are, so each says what it compares: the recipe and
the epochs run beside the book's epochs, the input size each model was measured at,
and no axis that starts where it flatters. Accuracy is a dot plot (positions, not bar
lengths, carry the numbers, so the axis need not start at 0); the cost charts give
bubble *area* in proportion to training time, with a key.
"""

from __future__ import annotations

import math
from pathlib import Path

from cnnlab import formatting
from cnnlab.figures import PALETTE, TEXT_COLOURS, bubble_style, si_log_axis
from cnnlab.formatting import format_count, percent_text, sig3
from cnnlab.models import UnknownModelError, model_info

_DATA_NAMES = {"fashion-mnist": "Fashion-MNIST", "synthetic": "synthetic data"}
_BUBBLE_MAX_PT2 = 1200  # the longest-training model's bubble area, in points squared
# The least size of the figures' text (value labels, names, legends, the footnote): 9 pt,
# cnnlab's least, read on a slide or in a Markdown page's ~830 px column (8.5 inches
# shown at 816 px). It was 8 pt, and 7 pt for the footnote.
LABEL_POINTS = 9


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


def _data_specs(rows: list[dict]) -> set[str]:
    """The data each row was trained on, as its setup records it, or a row from before
    the setup its run (read_rows' run_data); "" where neither says."""
    import json

    specs = set()
    for r in rows:
        try:
            specs.add(str(json.loads(r.get("setup") or "{}").get("data", "")
                          or r.get("run_data", "")))
        except (ValueError, AttributeError):
            specs.add("")
    return specs


def _data_name(rows: list[dict]) -> str:
    names = _data_specs(rows)
    if len(names) != 1 or not next(iter(names)):
        return ""
    data = names.pop()
    return _DATA_NAMES.get(data, data)


def book_comparable(rows: list[dict]) -> bool:
    """Whether the rows were trained on Fashion-MNIST, the data behind the book's numbers
    (rows that do not record their data are taken to be, as the zoo's default): beside a
    run on synthetic data or a folder of other images, the book's 72.8% means nothing.
    Fashion-MNIST given to run_zoo from Python is Fashion-MNIST too: its setup is kept
    apart (zoo_setup), but the book's numbers are on that data (the table said they were
    "not on data given to run_zoo: fashion-mnist")."""
    from cnnlab.bench.zoo_setup import GIVEN_DATA

    return {s.removeprefix(GIVEN_DATA) for s in _data_specs(rows)} <= {"fashion-mnist", ""}


# -- the Markdown table -------------------------------------------------------------

_HEAD = [("model", "---"), ("test acc", "---:"), ("the book (epochs)", "---:"),
         ("vs the book", "---:"),
         ("params", "---:"), ("MACs", "---:"), ("input", "---:"), ("train img/s", "---:"),
         ("peak MiB", "---:"), ("train time", "---:"), ("epochs", "---:"),
         ("machine", "---")]


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (numbers right-aligned, to three significant figures
    where they are measurements), with the notes that say how to read it."""
    cells = []
    warm, no_peak, any_peak = False, False, False
    comparable = book_comparable(rows)
    gains: list[float] = []  # points over the book, at the book's own epochs
    for r in rows:
        if r.get("status") != "done":
            cells.append([r["model"], f"failed: {r.get('error', '')}",
                          *[""] * (len(_HEAD) - 2)])
            continue
        book, ep = number(r.get("book_acc")), book_epochs(r)
        book_cell = f"{100 * book:.1f}% ({ep} ep)" if book is not None and ep else (
            f"{100 * book:.1f}%" if book is not None else "n/a")
        gain_cell = "-"
        if book is not None and comparable:
            gain = 100 * (float(r["test_acc"]) - book)
            # At other epochs than the book's the two are not like for like: in brackets.
            # To the test acc's two decimals: at one, 89.56 - 87.6 read +2.0 beside a
            # note counting it among none that beat the book by 2 points.
            if ep is not None and int(float(r["epochs"])) == ep:
                gains.append(gain)
                gain_cell = f"{gain:+.2f}"
            else:
                gain_cell = f"({gain:+.2f})"
        if not comparable:  # other data: the book's number is not of this task
            book_cell = "-"
        peak = number(r.get("peak_memory_mib"))
        no_peak, any_peak = no_peak or peak is None, any_peak or peak is not None
        first = _flag(r.get("first_in_process"))
        warm = warm or first
        cells.append([
            r["model"], percent_text(float(r["test_acc"])), book_cell, gain_cell,
            f"{int(float(r['params'])):,}", format_count(float(r["macs"])), input_text(r),
            sig3(float(r["images_per_s"])) + (" †" if first else ""),
            sig3(peak) if peak is not None else "n/a",
            f"{sig3(float(r['train_time_s']))} s" + (" †" if first else ""),
            str(r["epochs"]), r.get("machine", ""),
        ])
    book_note = (
        "The book: Dive into Deep Learning's accuracy after its own epochs, read off its "
        "plots; n/a: the book does not train that model." if comparable else
        f"The book: -, its numbers are on Fashion-MNIST, not on {_data_name(rows) or 'this data'}"
        ", so none is shown beside these.")
    notes = [
        f"test acc: on the test split after the epochs given, {_recipe_words(rows)}. "
        f"{book_note}",
        *([_gain_note(gains)] if comparable else []),
        "MACs: multiply-adds of one forward pass at the input size (convolutions and "
        "matrix products). train img/s: the last epoch's; train time: training seconds "
        "of all epochs, evaluation excluded.",
    ]
    off_cuda = ("n/a off CUDA (a CPU has no per-model counter: the process's peak resident "
                "memory only grows, from model to model)")
    if any_peak:  # what a GPU's number holds, said only where there is one
        notes.append("peak MiB: the highest of the CUDA allocator's per-epoch peaks, "
                     "training and evaluation (at batch 512 or more) together, with the "
                     "dataset resident on the device (its resize cache ~3.4 GiB at 224 px) "
                     "and cuDNN's autotuning workspace: the run's footprint, not the "
                     "model's activations alone" + (f"; {off_cuda}." if no_peak else "."))
    else:
        notes.append(f"peak MiB: {off_cuda}.")
    if warm:
        notes.append("†: the first model its bench process trained; its time includes "
                     "one-time start-up (torch, the data pipeline), so it reads slower "
                     "than the same network trained later.")
    table = formatting.markdown_table([h for h, _ in _HEAD], cells,
                                      right=tuple(h for h, a in _HEAD if a == "---:"))
    return table + "\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def _recipe_words(rows: list[dict]) -> str:
    """Which recipe trained the rows: zoo-book.md and zoo-fast.md had the same columns and
    notes, told apart by nothing inside them once pasted (or printed one after the other)."""
    presets = sorted({str(r.get("preset", "")) for r in rows} - {""})
    if not presets:
        return "recipe not recorded"
    return f"trained with the {'/'.join(presets)} preset" + ("s" if len(presets) > 1 else "")


def _gain_note(gains: list[float]) -> str:
    """What the 'vs the book' column holds, and how many models beat the book by the 2
    points the fast preset aims at (issue 6), counted where the epochs are the book's."""
    # Counted as the column shows them, to two decimals: 100 x (0.896 - 0.876) is
    # 1.99999..., and a test set of 9,999 images gives 1.999 points; both read "+2.00".
    counted = (f" At the book's epochs, {sum(round(g, 2) >= 2 for g in gains)} of {len(gains)} "
               "model(s) beat it by 2 points or more." if gains else "")
    return ("vs the book: test acc minus the book's, in points; in brackets where the "
            f"epochs are not the book's (not like for like).{counted}")


# -- figures ------------------------------------------------------------------------

def accuracy_figure(rows: list[dict]):
    """A horizontal dot plot: per model, cnnlab's accuracy (filled dot) and the book's
    (open diamond, or 'n/a'; on Fashion-MNIST only), each with its value; the legend
    says the recipe and the epochs on both sides."""
    from cnnlab.figures import literal, subplots

    n = len(rows)
    fig, ax = subplots(figsize=(8.5, 1.8 + 0.45 * n))
    ys = list(range(n))[::-1]  # the table's first model at the top
    acc = [100 * float(r["test_acc"]) for r in rows]
    comparable = book_comparable(rows)  # other data: no book values beside these
    book = [number(r.get("book_acc")) if comparable else None for r in rows]
    book = [None if b is None else 100 * b for b in book]
    epochs = [int(float(r["epochs"])) for r in rows]
    several = len(set(epochs)) > 1
    presets = sorted({str(r.get("preset", "")) for r in rows} - {""})
    ours = (f"cnnlab, {'/'.join(presets) or '?'} preset\n{_epochs_phrase(epochs)}"
            + (" (per model)" if several else ""))
    theirs = f"the book (D2L)\n{_epochs_phrase([e for e in map(book_epochs, rows) if e])}"
    up, down = 0.15, -0.15
    ax.scatter(acc, [y + up for y in ys], marker="o", s=40, color=PALETTE[0], zorder=3,
               label=ours)
    have = [(b, y) for b, y in zip(book, ys, strict=True) if b is not None]
    if have:
        ax.scatter([b for b, _ in have], [y + down for _, y in have], marker="D", s=32,
                   facecolors="white", edgecolors=PALETTE[1], linewidths=1.5, zorder=3,
                   label=theirs)
    for a, b, y, e in zip(acc, book, ys, epochs, strict=True):
        # percent_text, as the table: 99.96% is not written 100.0% beside a perfect run
        ax.annotate(percent_text(a / 100, decimals=1) + (f" ({e} ep)" if several else ""),
                    (a, y + up), xytext=(7, 0), textcoords="offset points", va="center",
                    fontsize=LABEL_POINTS)
        if b is None and comparable:
            ax.annotate("book: n/a", (a, y + down), xytext=(0, 0), textcoords="offset points",
                        ha="center", va="center", fontsize=LABEL_POINTS, color=TEXT_COLOURS[1])
        elif b is not None:
            ax.annotate(f"{b:.1f}%", (b, y + down), xytext=(7, 0), textcoords="offset points",
                        va="center", fontsize=LABEL_POINTS, color=TEXT_COLOURS[1])
    values = acc + [b for b in book if b is not None]
    lo, hi = min(values), max(values)
    span = max(hi - lo, 4.0)
    ax.set_xlim(lo - 0.08 * span, hi + 0.3 * span)  # the right for the value labels
    ax.set_xticks([t for t in ax.get_xticks() if t <= 100 and t >= lo - 0.08 * span])
    ax.set_yticks(ys, [literal(r["model"]) for r in rows])
    ax.set_ylim(-0.6, n - 0.4)
    data = _data_name(rows)
    ax.set(xlabel="test accuracy (%)",
           title=f"Test accuracy per model{' on ' + literal(data) if data else ''}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=LABEL_POINTS,
              frameon=False, labelspacing=1.2)
    return fig


def _nice_floor(x: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above ``x``."""
    e = math.floor(math.log10(x))
    m = x / 10 ** e
    return max(s for s in (1, 2, 5) if s <= m + 1e-9) * 10 ** e


def reference_times(longest: float) -> list[float]:
    """Three round times for the size key, the largest not above ``longest``."""
    out: list[float] = []
    for share in (1, 1 / 4, 1 / 16):
        t = _nice_floor(longest * share)
        if t not in out:
            out.append(t)
    return out


def cost_figure(rows: list[dict], key: str):
    """Accuracy against ``key`` ("macs" or "params"), log scale; bubble area in proportion
    to training time (with a key of three times), colour by family, each name with the
    input side it was measured at, names placed clear of each other inside the frame."""
    from matplotlib.lines import Line2D

    from cnnlab.figures import literal, subplots

    label = {"macs": "MACs per image", "params": "parameters"}[key]
    fig, ax = subplots(figsize=(8.5, 5.5))
    xs = [float(r[key]) for r in rows]
    acc = [100 * float(r["test_acc"]) for r in rows]
    times = [float(r["train_time_s"]) for r in rows]
    per_second = _BUBBLE_MAX_PT2 / max(max(times), 1e-9)  # area: points^2 per second
    sizes = [per_second * t for t in times]
    families = list(dict.fromkeys(str(r.get("family") or "?") for r in rows))
    # Colours from a colour-blind-safe set (tab10's red and green families read alike to
    # a colour-blind reader); round bubbles all, since their area is the training time,
    # a family past the 7th told apart by its fill, in the legend too (bubble_style).
    look = {f: bubble_style(i) for i, f in enumerate(families)}
    for fam in families:
        mine = [i for i, r in enumerate(rows) if str(r.get("family") or "?") == fam]
        ax.scatter([xs[i] for i in mine], [acc[i] for i in mine], s=[sizes[i] for i in mine],
                   zorder=2, **look[fam][0])
    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    pad = 0.15 * max(hi - lo, 0.6)
    ax.set_xscale("log")
    ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
    si_log_axis(ax.xaxis, 10 ** (lo - pad), 10 ** (hi + pad))
    # At least 4 points in view, as the accuracy plot: one model's bubble in a window of
    # 0.36 points read 83.30, 83.35, ..., a spread that is not there.
    middle, half = (min(acc) + max(acc)) / 2, 0.68 * max(max(acc) - min(acc), 4.0)
    ax.set_ylim(middle - half, min(middle + half, 100.5))
    epochs = [int(float(r["epochs"])) for r in rows]
    presets = "/".join(sorted({str(r.get("preset", "")) for r in rows} - {""})) or "?"
    ax.set(xlabel=f"{label} (log scale)", ylabel="test accuracy (%)",
           title=f"Test accuracy vs {label}\n{presets} preset, {_epochs_phrase(epochs)}; "
                 "bubble area = training time; input side in brackets")
    ax.grid(alpha=0.3, which="major")
    fam_handles = [Line2D([], [], marker="o", linestyle="", markersize=8, label=literal(f),
                          **look[f][1]) for f in families]
    fam_legend = ax.legend(handles=fam_handles, title="family", loc="upper left",
                           bbox_to_anchor=(1.01, 1), fontsize=LABEL_POINTS,
                           title_fontsize=LABEL_POINTS, frameon=False)
    ax.add_artist(fam_legend)
    size_handles = [Line2D([], [], marker="o", linestyle="", color="0.5", alpha=0.45,
                           markersize=math.sqrt(per_second * t), label=f"{sig3(t)} s")
                    for t in reference_times(max(times))]
    ax.legend(handles=size_handles, title="training time", loc="lower left",
              bbox_to_anchor=(1.01, 0), fontsize=LABEL_POINTS, title_fontsize=LABEL_POINTS,
              frameon=False, labelspacing=1.6, borderpad=1.0, handletextpad=1.2)
    warm = [_flag(r.get("first_in_process")) for r in rows]
    if any(warm):
        fig.text(0.01, 0.01, "† the first model its process trained: its time includes "
                 "one-time start-up", fontsize=LABEL_POINTS, ha="left", va="bottom")
    foot = 0.28 / fig.get_figheight() if any(warm) else 0  # a 9 pt line under the x label
    fig.tight_layout(rect=(0, foot, 1, 1))  # final before names go in
    texts = [f"{literal(r['model'])} ({input_side(r)} px)" + (" †" if w else "")
             for r, w in zip(rows, warm, strict=True)]
    place_labels(fig, ax, list(zip(xs, acc, strict=True)), texts,
                 [math.sqrt(s) / 2 for s in sizes])
    return fig


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def place_labels(fig, ax, points, texts, radii_pt, fontsize: float = LABEL_POINTS) -> list:
    """Each text beside its point: the first offset, round the bubble and then further
    out (with a leader line), whose box stays inside the axes and overlaps neither a
    label already placed nor another bubble; failing that, the one that overlaps least,
    pulled inside the frame. Returns the annotations."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    px = fig.dpi / 72  # pixels per point
    frame = ax.get_window_extent(renderer).shrunk(0.995, 0.995)
    centres = ax.transData.transform(points)
    bubbles = [Bbox.from_bounds(cx - r * px, cy - r * px, 2 * r * px, 2 * r * px)
               for (cx, cy), r in zip(centres, radii_pt, strict=True)]
    directions = [(1, 0), (-1, 0), (0, 1), (0, -1), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7),
                  (-0.7, -0.7)]
    placed, annotations = [], []
    for i, (point, text, r) in enumerate(zip(points, texts, radii_pt, strict=True)):
        ann = ax.annotate(text, point, xytext=(0, 0), textcoords="offset points", fontsize=fontsize,
                          annotation_clip=False)
        best = None
        for ring, gap in enumerate((r + 2, r + 12, r + 26, r + 44)):
            for dx, dy in directions:
                offset = (dx * gap, dy * gap)
                _aim(ann, offset, dx, dy)
                box = ann.get_window_extent(renderer)
                outside = box.width * box.height - _overlap(box, frame)
                score = (1e6 * outside + 100 * sum(_overlap(box, p) for p in placed)
                         + sum(_overlap(box, b) for j, b in enumerate(bubbles) if j != i))
                if best is None or score < best[0]:
                    best = (score, offset, dx, dy, ring)
                if score == 0:
                    break
            if best[0] == 0:
                break
        _, offset, dx, dy, ring = best
        _aim(ann, offset, dx, dy)
        box = ann.get_window_extent(renderer)
        shift_x = max(frame.x0 - box.x0, 0) - max(box.x1 - frame.x1, 0)
        shift_y = max(frame.y0 - box.y0, 0) - max(box.y1 - frame.y1, 0)
        offset = (offset[0] + shift_x / px, offset[1] + shift_y / px)  # inside the frame
        ha, va = ann.get_ha(), ann.get_va()
        ann.remove()  # drawn again as placed; away from its bubble, a line says whose
        ann = ax.annotate(text, point, xytext=offset, textcoords="offset points",
                          fontsize=fontsize, ha=ha, va=va, annotation_clip=False,
                          arrowprops=dict(arrowstyle="-", color="0.5", linewidth=0.6,
                                          shrinkA=1, shrinkB=r) if ring else None)
        placed.append(ann.get_window_extent(renderer))
        annotations.append(ann)
    return annotations


def _aim(ann, offset, dx, dy) -> None:
    ann.set_position(offset)
    ann.set_ha("left" if dx > 0 else "right" if dx < 0 else "center")
    ann.set_va("bottom" if dy > 0 else "top" if dy < 0 else "center")


# The figures plot_zoo draws, each named <stem><suffix>: accuracy per model, and accuracy
# against MACs and against parameters.
FIGURE_SUFFIXES = ("-accuracy.png", "-acc-vs-macs.png", "-acc-vs-params.png")


def plot_zoo(rows: list[dict], stem: Path) -> list[Path]:
    """The three figures of finished rows (FIGURE_SUFFIXES)."""
    from cnnlab.figures import save_figure

    paths = [save_figure(accuracy_figure(rows), f"{stem}{FIGURE_SUFFIXES[0]}")]
    for key, suffix in zip(("macs", "params"), FIGURE_SUFFIXES[1:], strict=True):
        # laid out already: the names were placed in it
        paths.append(save_figure(cost_figure(rows, key), f"{stem}{suffix}", layout=False))
    return paths
