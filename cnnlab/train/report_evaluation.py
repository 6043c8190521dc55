"""Which evaluation a run's report shows class by class, and how it is named.

The headline's "best test accuracy", ``cnnlab eval`` and ``cnnlab predict`` all use the
``best`` checkpoint, the weights evaluated at the best epoch. class_metrics.jsonl keeps
every evaluation's per-class accuracy and confusion matrix, so the report shows that
epoch's: the confusion matrix and per-class table then agree with the headline and with
what ``cnnlab eval`` prints for the run. (The last epoch's, which TrainResult and
summary.json carry, only where the best epoch's line is missing, a damaged file, or the
best epoch is not known: no row of the history has the best accuracy.)
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

from cnnlab.formatting import percent_text

# class_metrics.jsonl's lines are read back there (with the .pending lines a held file
# kept, a torn last line passed over).
from cnnlab.train.class_metrics_file import class_metrics


@dataclass
class ShownEvaluation:
    """One evaluation of the test set: its epoch, per-class accuracy and confusion
    matrix, and whether it is the best checkpoint's."""

    epoch: int | None
    per_class_acc: dict[str, float | None]  # None: a class the test images had none of
    confusion: list[list[int]]
    is_best: bool


def best_epoch(history: list[dict], best_test_acc: float,
               run_dir: Path | None = None) -> int | None:
    """The epoch of the ``best`` checkpoint, from what the checkpoint itself records (its
    JSON copy: epochs trained, steps into the next) where the run has one; otherwise the
    first epoch to reach the best accuracy (the trainer replaces it only on a strictly
    higher one). None where neither tells: a checkpoint written mid-epoch (a time budget)
    whose evaluation no history row holds, since a resume drops that row and trains the
    epoch again; an accuracy match alone could then name a later epoch that tied."""
    saved = checkpoint_position(run_dir, "best") if run_dir is not None else None
    if saved is not None:
        epoch, step_in_epoch = saved
        if step_in_epoch == 0:
            return epoch if any(row.get("epoch") == epoch for row in history) else None
        # Evaluated mid-epoch: the row of that partial epoch, while the run still stands
        # there; a resume trained the epoch again and replaced it (a tie named it).
        if checkpoint_position(run_dir, "last") != saved:
            return None
        return next((row["epoch"] for row in history if row.get("epoch") == epoch + 1
                     and row.get("test_acc") == best_test_acc), None)
    for row in history:
        if row.get("test_acc") == best_test_acc:
            return row["epoch"]
    return None


def checkpoint_position(run_dir: Path, which: str) -> tuple[int, int] | None:
    """(epochs trained, steps into the next) as checkpoints/<which>.json records them."""
    try:
        record = Path(run_dir) / "checkpoints" / f"{which}.json"
        state = json.loads(record.read_text(encoding="utf-8"))
        return int(state["epoch"]), int(state.get("step_in_epoch") or 0)
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or an older layout
        return None


def shown_evaluation(run_dir: Path, summary: dict) -> ShownEvaluation:
    """The best epoch's evaluation from class_metrics.jsonl; the last one otherwise."""
    best = summary.get("best_epoch")
    classes = summary.get("classes") or list(summary.get("per_class_acc") or {})
    if best is not None:
        record = class_metrics(Path(run_dir) / "class_metrics.jsonl", best, len(classes))
        if record is not None:
            return ShownEvaluation(best, _scored_classes(record["per_class_acc"],
                                                         record["confusion"]),
                                   record["confusion"], True)
    last = (summary.get("final") or {}).get("epoch")
    confusion = summary.get("confusion") or []
    return ShownEvaluation(last, _scored_classes(summary.get("per_class_acc") or {}, confusion),
                           confusion, best is not None and best == last)


def _scored_classes(per_class_acc: dict[str, float], confusion: list[list[int]]
                    ) -> dict[str, float | None]:
    """``per_class_acc`` with None for each class whose confusion row is empty (no test
    image of it): no accuracy to show. Runs before cnnlab recorded NaN for one recorded
    0.0, which read as every image of the class missed."""
    rows = {name: row for name, row in zip(per_class_acc, confusion, strict=False)}
    return {name: None if acc != acc or (name in rows and not sum(rows[name])) else acc
            for name, acc in per_class_acc.items()}  # (acc != acc: NaN)


def last_class_metrics(run_dir: Path, history: list[dict],
                       n_classes: int) -> tuple[dict, dict] | None:
    """The last evaluated epoch's metrics row and its class_metrics.jsonl record
    (per-class accuracy by class name, confusion matrix); None where there is none."""
    tested = [r for r in history if r.get("test_acc") == r.get("test_acc")]  # not NaN
    if not tested:
        return None
    record = class_metrics(Path(run_dir) / "class_metrics.jsonl", tested[-1]["epoch"],
                           n_classes)
    return None if record is None else (tested[-1], record)


# Past CLASSES_LISTED_WHOLE classes a per-class table (the report's, `cnnlab eval`'s, a
# notebook's) shows its two ends, the CLASSES_AT_EACH_END classes of lowest and of highest
# accuracy, and says where every class is: a folder of 1,000 classes printed 1,000 rows
# in name order, the run's configuration a long scroll below, and which classes fail,
# the question such a table answers, was nowhere to be seen.
CLASSES_LISTED_WHOLE = 30
CLASSES_AT_EACH_END = 10


@dataclass
class RankedClasses:
    """The classes a cut per-class table shows, by name."""

    lowest: list[str]  # the lowest accuracy first
    highest: list[str]  # the highest first
    unscored: list[str]  # no test image scored: no accuracy to rank
    total: int  # every class, shown or not
    scored: list[str]  # every class with an accuracy, in the classes' own order

    @property
    def ends_filled(self) -> bool:
        """Whether the scored classes fill both ends. A subset of the test set (an
        eval_subset of 20 images of 100 classes) scores few classes: the highest end was
        then empty, a heading over no row, or held what the lowest left over."""
        return bool(self.highest) and len(self.highest) == len(self.lowest)


def ranked_classes(per_class_acc: dict[str, float | None],
                   at_each_end: int = CLASSES_AT_EACH_END) -> RankedClasses | None:
    """The ends of ``per_class_acc`` (NaN or None: a class with no test image) by
    accuracy, ties in the classes' own order; None where every class is to be listed
    (CLASSES_LISTED_WHOLE or fewer)."""
    if len(per_class_acc) <= CLASSES_LISTED_WHOLE:
        return None
    scored = [(acc, i, name) for i, (name, acc) in enumerate(per_class_acc.items())
              if acc is not None and acc == acc]  # (acc == acc: not NaN)
    ordered = sorted(scored)
    lowest = ordered[:at_each_end]
    highest = sorted(ordered[at_each_end:], key=lambda s: (-s[0], s[1]))[:at_each_end]
    unscored = [name for name, acc in per_class_acc.items() if acc is None or acc != acc]
    return RankedClasses([name for *_, name in lowest], [name for *_, name in highest],
                         unscored, len(per_class_acc), [name for *_, name in scored])


def scored_words(ranked: RankedClasses) -> str:
    """The heading of the one table of a cut per-class table's scored classes (too few
    to fill both ends)."""
    return (f"the {len(ranked.scored)} of {ranked.total:,} classes that had test images "
            "scored")


def listed_classes(per_class_acc: dict[str, float | None], every: bool = False
                   ) -> list[tuple[str, list[str]]]:
    """The classes a per-class table lists, as (heading, names) groups: every class in
    its order under no heading (``every``, or CLASSES_LISTED_WHOLE or fewer), the scored
    ones in their order where too few fill both ends, else "lowest accuracy" and
    "highest accuracy" (:func:`ranked_classes`)."""
    ranked = None if every else ranked_classes(per_class_acc)
    if ranked is None:
        return [("", list(per_class_acc))]
    if not ranked.ends_filled:
        return [(scored_words(ranked), ranked.scored)]
    return [("lowest accuracy", ranked.lowest), ("highest accuracy", ranked.highest)]


def evaluation_html(scored) -> str:
    """A RunEvaluation in a notebook: its headline, then per true class its accuracy and
    where its images went. Up to CLASSES_LISTED_WHOLE classes the confusion matrix's
    rows, a column per predicted class; past them the classes of lowest and highest
    accuracy, each with the classes it was most often taken for (1,000 classes' rows
    of 1,000 columns were 33 MB of HTML, which the notebook had to hold and draw)."""
    from cnnlab.train.report import html_table

    res, names = scored.result, scored.classes
    page = f"<p>{html.escape(scored.headline())}; test loss {res.loss:.4f}</p>"
    groups = listed_classes(scored.per_class_acc)
    if groups[0][0] == "":  # every class: the confusion matrix's rows
        header = ["true class", "accuracy", *(f"as {name}" for name in names)]
        rows = [[name, accuracy_words(acc), *(f"{n:,}" for n in counts)]
                for name, acc, counts in zip(names, res.per_class_acc, res.confusion,
                                             strict=True)]
        return page + html_table(header, rows, inline_style=True)
    which = ("the lowest and highest accuracies" if len(groups) > 1
             else "those that had test images scored")
    page += (f"<p>{len(names):,} classes: {which}. Every class's accuracy is in "
             ".per_class_acc, the whole confusion matrix in .result.confusion (a row per "
             "true class).</p>")
    index = {name: i for i, name in enumerate(names)}
    header = ["true class", "accuracy", "test images", "most often taken for"]
    for heading, shown in groups:
        rows = [[name, accuracy_words(res.per_class_acc[i]), f"{sum(res.confusion[i]):,}",
                 ", ".join(f"{names[j]} ({n:,})" for n, _, j in confused_pairs(
                     [res.confusion[i]], 3, row=i))]
                for name in shown for i in [index[name]]]
        page += f"<p>{html.escape(heading)}</p>" + html_table(header, rows, inline_style=True)
    return page


def per_class_tables(shown: ShownEvaluation, rows: list[list]) -> list[str]:
    """The report's per-class table, ``rows`` a row per class: past
    CLASSES_LISTED_WHOLE classes the lowest and highest accuracies (or the scored
    classes, too few to fill both), the pairs most often confused (the figure's cells
    are a pixel or two there), and every class in a table collapsed under them."""
    from cnnlab.train.report import html_table

    header = ["class", "correct", "test images", "accuracy"]
    ranked = ranked_classes(shown.per_class_acc)
    if ranked is None:
        return [html_table(header, rows)]
    row_of = dict(zip(shown.per_class_acc, rows, strict=True))
    none = len(ranked.unscored)
    # "scored": under an eval_subset the others had test images, only none of them scored
    unscored = (f" {none} class{'es' if none > 1 else ''} had no test image scored."
                if none else "")
    # The groups `cnnlab eval` and the notebook list: both ends, or the few scored
    # (whose heading counts the classes: "100 classes: the 8 of 100" said it twice).
    shown_words = (f"{ranked.total:,} classes: the {len(ranked.lowest)} of lowest and the "
                   f"{len(ranked.highest)} of highest accuracy" if ranked.ends_filled
                   else scored_words(ranked).capitalize())
    tables = [part for heading, names in listed_classes(shown.per_class_acc)
              for part in (f"<h4>{html.escape(heading.capitalize())}</h4>",
                           html_table(header, [row_of[c] for c in names]))]
    names, matrix = list(shown.per_class_acc), shown.confusion
    pairs = confused_pairs(matrix, CLASSES_AT_EACH_END) if len(matrix) == len(names) else []
    # Only where there are any: a matrix of no confusions (a model that got every test
    # image right) says so; one not kept says nothing of them.
    then = (", then the pairs most often confused" if pairs else
            "; no test image was misclassified" if len(matrix) == len(names) else "")
    parts = [f"<p class=note>{shown_words}{then}. Every class is in the table under them "
             f"(click to open).{unscored}</p>", *tables]
    if pairs:
        parts += ["<h4>Most often confused</h4>", html_table(
            ["true class", "predicted as", "images", "of the true class"],
            [[names[i], names[j], f"{count:,}", percent(count / sum(matrix[i]), 1)]
             for count, i, j in pairs])]
    parts.append(f"<details><summary>Every class ({ranked.total:,}), in the data's order"
                 f"</summary>{html_table(header, rows)}</details>")
    return parts


def confused_pairs(matrix: list[list[int]], most: int, row: int = 0
                   ) -> list[tuple[int, int, int]]:
    """The ``most`` largest off-diagonal cells as (images, true, predicted), the largest
    first, ties in the matrix's order; ``matrix`` may be rows of a larger one, the first
    of which is its row ``row``. Only cells that count an image are compared: of a
    1,000-class matrix's million cells, a few thousand."""
    import heapq

    cells = ((count, -i, -j) for i, counts in enumerate(matrix, start=row)
             for j, count in enumerate(counts) if count and i != j)
    return [(count, -i, -j) for count, i, j in heapq.nlargest(most, cells)]


def accuracy_words(acc: float | None, decimals: int = 2) -> str:
    """A class's accuracy as a person reads it: "91.30%", or "n/a (no test images)" for
    a class the test split (or the part scored) has no image of (NaN: see evaluate)."""
    no_images = acc is None or math.isnan(acc)  # None: a summary.json's null
    return "n/a (no test images)" if no_images else percent_text(acc, decimals)


def percent(value, decimals: int = 2) -> str:
    """A share (an accuracy) as a report shows it, "91.23%"; "not evaluated" for NaN (an
    epoch eval_every skipped, a best accuracy before the first evaluation: it showed as
    "nan%"); "" where there is none.

    Not percent_text's "-" for both, as compare's table has it: the report writes these
    into sentences, where a NaN is an evaluation not made and says so, and "" is no value
    at all, which the callers test for (a blank cell; no "at epoch" after a best of "")."""
    if value is None or value == "":
        return ""
    value = float(value)
    return "not evaluated" if math.isnan(value) else percent_text(value, decimals)


def evaluated_weights_words(config: dict) -> str:
    """Which weights the run's evaluations scored, in words."""
    if config.get("ema_decay"):
        weights = f"EMA weights (decay {config['ema_decay']:g})"
    elif config.get("lookahead_steps"):
        weights = "Lookahead's weights"
    else:
        weights = "trained weights"
    views = describe_tta(bool(config.get("tta_flip")), config.get("tta_shift") or 0)
    return weights + (f", test-time views: {views}" if views != "none" else "")


def describe_tta(flip: bool, shift: int) -> str:
    """How a person reads a test-time augmentation setting ("mirror + shifts of 2 px",
    "none"): the report, `cnnlab eval` and `cnnlab predict` say it alike. Here, not in
    evaluate (torch), as the report reads it without torch."""
    parts = (["mirror"] if flip else []) + ([f"shifts of {shift} px"] if shift else [])
    return " + ".join(parts) if parts else "none"


def test_set_words(summary: dict) -> str:
    """"test set (10,000 images)", or which part of it eval_subset scored."""
    scope = summary.get("eval_scope")
    if scope:
        return f"test set ({scope})"
    n = summary.get("eval_images")
    return f"test set ({n:,} images)" if isinstance(n, int) else "test set"


def evaluation_words(summary: dict, shown: ShownEvaluation) -> str:
    """What a confusion matrix or per-class table shows: "test set (10,000 images),
    after epoch 3 of 3, EMA weights (decay 0.999), the best checkpoint"."""
    plan = (summary.get("config") or {}).get("epochs")
    when = (f"after epoch {shown.epoch}" + (f" of {plan}" if plan else "")
            if shown.epoch is not None else "at the last evaluation")
    which = "the best checkpoint" if shown.is_best else "the last epoch"
    return (f"{test_set_words(summary)}, {when}, "
            f"{evaluated_weights_words(summary.get('config') or {})}, {which}")
