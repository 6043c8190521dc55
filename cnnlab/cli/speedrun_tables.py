"""The speedrun's words and tables for its results: a run's row, a recipe's time to
target and final accuracy (a ± only where two values or more were measured), and the
candidates' and the ablation's tables."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    left_out_caption,
    percent_text,
    without_columns,
)

from .messages import output_console, print_table

console = output_console()


def time_to_target_text(r) -> str:
    if r.diverged:
        return "diverged"
    return "not reached" if r.time_to_target_s is None else f"{r.time_to_target_s:.1f} s"


def run_row(i: int, r, with_session: bool) -> list[str]:
    """Run ``i``'s row of a recipe's table (``session``: the process that ran it)."""
    # A diverged run's NaN accuracies read "-", as an unknown in the other tables (not "nan%")
    return [str(i + 1), str(r.seed), time_to_target_text(r), percent_text(r.final_acc),
            percent_text(r.best_acc), str(r.epochs), f"{r.total_time_s:.1f} s",
            *([str(r.session)] if with_session else [])]


def _mean_std(mean: float, std: float, measured: int, digits: int = 2,
              unit: str = "") -> str:
    """``mean ± std`` with ``unit``, the spread only where ``measured`` values gave it:
    one value's "± 0.00" would read as a measured spread of zero."""
    if measured < 2:
        return f"{mean:.{digits}f}{unit}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}{unit}"


def mean_accuracy_words(s: dict) -> str:
    """A summary's final accuracy in percent; its spread is over the runs that finished
    (a diverged run has no accuracy, so it is not one of the values); none: "-"."""
    if s["runs"] == s["diverged"]:
        return "- (every run diverged)"
    return _mean_std(100 * s["final_acc_mean"], 100 * s["final_acc_std"],
                     s["runs"] - s["diverged"], unit="%")


def _time_words(s: dict, digits: int) -> str:
    """A summary's mean time to target: over the runs that reached it, so its spread is
    theirs (one run that reached it has none)."""
    return _mean_std(s["time_to_target_mean_s"], s["time_to_target_std_s"], s["reached"],
                     digits, " s")


def time_to_target_words(s: dict) -> str:
    """A summary's time to target: its mean is over the runs that reached it, so a
    partial success says how many those were."""
    if not s["reached"]:
        return "not reached"
    words = _time_words(s, digits=1)
    if s["reached"] < s["runs"]:
        words += (f" over the {s['reached']} runs that reached it (no mean over all "
                  f"{s['runs']}: {s['runs'] - s['reached']} never did)")
    return words


# Columns whose text may wrap at its spaces (a recipe's KEY=VALUE pairs, "11.0 s (reached
# runs)", "94.00 ± 1.41%"): the others keep each value on one line where the width allows.
_WRAPS = ("candidate", "variant", "time to target", "final acc")


def _fitted_table(title: str, header: list[str], rows: list[list[str]], leave_out_first: list[str],
                  caption: str | None = None) -> Table:
    """A table that fits the console's width with every cell folded, never cut: rich's
    own squeezing cut a candidate to "ema_decay=0.…" at 80 columns and the accuracies to
    "9…" at 40, values lost with nothing to say so. Where even folded it would not fit,
    it goes without the columns ``leave_out_first`` (as few as fit, in order), and its
    caption names them. The first column left-aligned."""
    width = console.width
    left_out = columns_left_out(header, rows, width, leave_out_first, _WRAPS)
    header, rows = without_columns(header, rows, left_out)
    caption = "\n".join(filter(None, [caption, left_out_caption(left_out, width, "--out FILE")]))
    table = Table(title=title, caption=caption or None)
    for i, (name, column_width) in enumerate(zip(header, fitted_widths(header, rows, width, _WRAPS),
                                                 strict=True)):
        table.add_column(name, justify="left" if i == 0 else "right", width=column_width,
                         overflow="fold")
    for row in rows:
        table.add_row(*map(escape, row))  # a recipe's "[2, 2]" is no markup
    return table


def print_candidates(summaries: dict[str, dict], target: float, runs: int) -> None:
    header = ["candidate", f"reached {100 * target:.1f}%", "time to target", "final acc",
              "total per run"]
    rows = []
    for name, s in summaries.items():
        ttt = ("-" if not s["reached"] else _time_words(s, digits=2)
               + ("" if s["reached"] == s["runs"] else " (reached runs)"))
        rows.append([name, f"{s['reached']}/{s['runs']}", ttt, mean_accuracy_words(s),
                     f"{s['total_time_mean_s']:.1f} s"])
    print_table(console, _fitted_table(f"Candidates ({runs} run(s) each)", header, rows,
                                       ["total per run", header[1]]))


def print_ablation(rows: list[dict], target: float, runs: int) -> None:
    # Δ: the variant against the full recipe. Worth: what the ingredient gives, one way
    # for all (full - without for the recipe's own, with - full for an addition).
    header = ["variant", "final acc", "Δ acc (points)", "worth (points)",
              f"reached {100 * target:.1f}%", "time to target", "Δ time"]
    cells = []
    for r in rows:
        worth = "" if r["kind"] == "full" else f"{r['effect_acc_points']:+.2f}"
        dt = "" if r["delta_time_s"] is None else f"{r['delta_time_s']:+.1f} s"
        ttt = ("-" if not r["reached"] else _time_words(r, digits=1)
               + ("" if r["reached"] == r["runs"] else " (reached runs)"))
        cells.append([r["variant"], mean_accuracy_words(r), f"{r['delta_acc_points']:+.2f}",
                      worth, f"{r['reached']}/{r['runs']}", ttt, dt])
    # A narrow terminal goes without these first: the accuracy and its worth stay.
    leave_out_first = ["Δ time", header[4], "Δ acc (points)", "time to target"]
    print_table(console, _fitted_table(
        f"What each ingredient is worth ({runs} run(s) each)", header, cells, leave_out_first,
        caption="Δ acc: variant - full recipe. Worth: what the ingredient gives, "
                "> 0 where it helps (full - without for one the recipe has, "
                "with - full for one it adds)"))
