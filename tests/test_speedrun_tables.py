"""The speedrun's candidates and ablation tables: a ± only where two values or more
were measured (a time: runs that reached the target; an accuracy: runs that finished)."""

import math

from cnnlab.bench.speedrun import FULL_RECIPE, SpeedrunResult, ablation_rows, summarize
from cnnlab.cli.speedrun_tables import print_ablation, print_candidates

DIVERGED = SpeedrunResult(1, None, math.nan, math.nan, 3.0, 0, diverged=True)


def reached(seed: int, seconds: float, acc: float) -> SpeedrunResult:
    return SpeedrunResult(seed, seconds, acc, acc, 12.0, 14)


def test_one_run_shows_no_spread_in_the_candidates_table(capsys):
    print_candidates({"the recipe": summarize([reached(0, 10.0, 0.93)], 0.92)}, 0.92, 1)
    out = capsys.readouterr().out
    assert "10.00 s" in out and "93.00%" in out and "±" not in out


def test_a_diverged_run_is_not_one_of_the_values_a_spread_is_over(capsys):
    one_finished = summarize([reached(0, 10.0, 0.93), DIVERGED], 0.92)
    two_finished = summarize([reached(0, 10.0, 0.93), reached(2, 12.0, 0.95), DIVERGED], 0.92)
    print_candidates({"wild": one_finished, "tame": two_finished}, 0.92, 2)
    out = capsys.readouterr().out
    wild = next(line for line in out.splitlines() if "wild" in line)
    tame = next(line for line in out.splitlines() if "tame" in line)
    assert "93.00%" in wild and "±" not in wild
    assert "11.00 ± 1.41 s" in tame and "94.00 ± 1.41%" in tame


def test_a_candidate_whose_every_run_diverged_has_no_accuracy(capsys):
    # It printed "nan%".
    print_candidates({"wild": summarize([DIVERGED, DIVERGED], 0.92)}, 0.92, 2)
    out = capsys.readouterr().out
    assert "nan" not in out and "every run diverged" in " ".join(out.split())


def test_the_ablation_table_shows_a_spread_only_where_two_runs_measured_one(capsys):
    full = summarize([reached(0, 10.0, 0.93), reached(1, 12.0, 0.95)], 0.92)
    # Both runs finished, one reached the target: an accuracy spread, no time spread.
    one_reached = summarize([reached(0, 11.0, 0.93),
                             SpeedrunResult(1, None, 0.91, 0.91, 12.0, 14)], 0.92)
    rows = ablation_rows({FULL_RECIPE: full, "no label smoothing": one_reached,
                          "no weight decay": summarize([reached(0, 9.0, 0.94), DIVERGED],
                                                       0.92)})
    print_ablation(rows, 0.92, 2)
    lines = capsys.readouterr().out.splitlines()
    row = {name: next(line for line in lines if name in line)
           for name in ("full recipe", "no label smoothing", "no weight decay")}
    assert "94.00 ± 1.41%" in row["full recipe"] and "11.0 ± 1.4 s" in row["full recipe"]
    assert "92.00 ± 1.41%" in row["no label smoothing"]
    assert "11.0 s (reached runs)" in row["no label smoothing"]
    assert "94.00%" in row["no weight decay"] and "±" not in row["no weight decay"]
