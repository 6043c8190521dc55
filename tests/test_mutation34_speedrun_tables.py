"""The speedrun's tables cell by cell under their headers (mutation testing, session 40):
a value under another column's header reads as that column's number."""

import math

from cnnlab.bench.speedrun import FULL_RECIPE, SpeedrunResult, ablation_rows, summarize
from cnnlab.cli.speedrun_tables import print_ablation, print_candidates


def _run(seed: int, seconds: float | None, acc: float, total: float = 12.0) -> SpeedrunResult:
    return SpeedrunResult(seed, seconds, acc, acc, total, 14)


def _cells(out: str) -> list[dict[str, str]]:
    """Each body row of the one table in ``out`` as {header: cell}."""
    lines = [line for line in out.splitlines() if line.count("│") > 1 or line.count("┃") > 1]
    header = [c.strip() for c in lines[0].strip("┃ ").split("┃")]
    return [dict(zip(header, (c.strip() for c in line.strip("│ ").split("│")), strict=True))
            for line in lines[1:]]


def test_every_candidates_cell_is_under_its_header(capsys):
    # one run reached the target in 10 s, one never did; totals 20 and 30 s
    print_candidates({"a": summarize([_run(0, 10.0, 0.93, 20.0), _run(1, None, 0.91, 30.0)],
                                     0.92)}, 0.92, 2)
    [row] = _cells(capsys.readouterr().out)
    assert row == {"candidate": "a", "reached 92.0%": "1/2",
                   "time to target": "10.00 s (reached runs)",
                   "final acc": "92.00 ± 1.41%", "total per run": "25.0 s"}


def test_every_ablation_cell_is_under_its_header(capsys):
    full = summarize([_run(0, 10.0, 0.93), _run(1, 12.0, 0.95)], 0.92)
    without = summarize([_run(0, 14.0, 0.90), _run(1, 16.0, 0.92)], 0.92)
    added = summarize([_run(0, 9.0, 0.95), _run(1, 9.0, 0.95)], 0.92)
    rows = ablation_rows({FULL_RECIPE: full, "no weight decay": without,
                          "translation ±1 px": added})
    print_ablation(rows, 0.92, 2)
    got = {r["variant"]: r for r in _cells(capsys.readouterr().out)}
    assert got["full recipe"] == {
        "variant": "full recipe", "final acc": "94.00 ± 1.41%", "Δ acc (points)": "+0.00",
        "worth (points)": "", "reached 92.0%": "2/2", "time to target": "11.0 ± 1.4 s",
        "Δ time": "+0.0 s"}
    # taken out: 3 points lost, so the ingredient is worth +3; 4 s slower without it
    assert got["no weight decay"] == {
        "variant": "no weight decay", "final acc": "91.00 ± 1.41%", "Δ acc (points)": "-3.00",
        "worth (points)": "+3.00", "reached 92.0%": "2/2", "time to target": "15.0 ± 1.4 s",
        "Δ time": "+4.0 s"}
    # added: +1 point, and worth +1 (the same sign: with - full)
    assert got["translation ±1 px"]["Δ acc (points)"] == "+1.00"
    assert got["translation ±1 px"]["worth (points)"] == "+1.00"
    assert got["translation ±1 px"]["time to target"] == "9.0 ± 0.0 s"
    assert got["translation ±1 px"]["Δ time"] == "-2.0 s"
    assert not math.isnan(rows[1]["effect_time_s"])
