"""The speedrun's words and tables for its results: a run's row, a recipe's time to
target and final accuracy (a ± only where two values or more were measured), and the
candidates' and the ablation's tables."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .messages import output_console, print_table

console = output_console()


def time_to_target_text(r) -> str:
    if r.diverged:
        return "diverged"
    return "not reached" if r.time_to_target_s is None else f"{r.time_to_target_s:.1f} s"


def run_row(i: int, r, with_session: bool) -> list[str]:
    """Run ``i``'s row of a recipe's table (``session``: the process that ran it)."""
    return [str(i + 1), str(r.seed), time_to_target_text(r), f"{100 * r.final_acc:.2f}%",
            f"{100 * r.best_acc:.2f}%", str(r.epochs), f"{r.total_time_s:.1f} s",
            *([str(r.session)] if with_session else [])]


def _mean_std(mean: float, std: float, measured: int, digits: int = 2,
              unit: str = "") -> str:
    """``mean ± std`` with ``unit``, the spread only where ``measured`` values gave it:
    one value's "± 0.00" would read as a measured spread of zero."""
    if measured < 2:
        return f"{mean:.{digits}f}{unit}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}{unit}"


def accuracy_words(s: dict) -> str:
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


def print_candidates(summaries: dict[str, dict], target: float, runs: int) -> None:
    table = Table(title=f"Candidates ({runs} run(s) each)")
    for col in ("candidate", f"reached {100 * target:.1f}%", "time to target", "final acc",
                "total per run"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for name, s in summaries.items():
        ttt = ("-" if not s["reached"] else _time_words(s, digits=2)
               + ("" if s["reached"] == s["runs"] else " (reached runs)"))
        table.add_row(escape(name), f"{s['reached']}/{s['runs']}", ttt, accuracy_words(s),
                      f"{s['total_time_mean_s']:.1f} s")
    console.print(table)


def print_ablation(rows: list[dict], target: float, runs: int) -> None:
    # Δ: the variant against the full recipe. Worth: what the ingredient gives, one way
    # for all (full - without for the recipe's own, with - full for an addition).
    table = Table(title=f"What each ingredient is worth ({runs} run(s) each)",
                  caption="Δ acc: variant - full recipe. Worth: what the ingredient gives, "
                          "> 0 where it helps (full - without for one the recipe has, "
                          "with - full for one it adds)")
    for col in ("variant", "final acc", "Δ acc (points)", "worth (points)",
                f"reached {100 * target:.1f}%", "time to target", "Δ time"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in rows:
        worth = "" if r["kind"] == "full" else f"{r['effect_acc_points']:+.2f}"
        dt = "" if r["delta_time_s"] is None else f"{r['delta_time_s']:+.1f} s"
        ttt = ("-" if not r["reached"] else _time_words(r, digits=1)
               + ("" if r["reached"] == r["runs"] else " (reached runs)"))
        table.add_row(r["variant"], accuracy_words(r), f"{r['delta_acc_points']:+.2f}",
                      worth, f"{r['reached']}/{r['runs']}", ttt, dt)
    print_table(console, table)
