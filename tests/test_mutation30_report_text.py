"""The words and tables of a design-space report, from summary dicts written by hand
(no sweep is run): the median column, the "too few" notes and the verdict's "never below"."""

from __future__ import annotations

from cnnlab.design.report_text import MIN_TRUSTED_N, report_notes, space_table, verdict_words


def _space(label: str, done: int, **numbers) -> dict:
    space = {"label": label, "done": done, "failed": 0}
    space.update(numbers)
    return space


FINISHED = {"best_error": 8.5, "median_error": 11.25, "best_of": 5, "best_level": 0.9,
            "best_low": 8.1, "best_high": 9.9, "macs_min": 2e6, "macs_max": 4e8,
            "mean_train_time_s": 12.0, "decimals": 2}


def _summary(*spaces: dict) -> dict:
    return {"spaces": list(spaces), "pairs": [], "resamples": 1000, "bins": 10}


def test_the_median_column_shows_the_median_error_not_the_best():
    header, rows = space_table(_summary(_space("anynetx_a", 40, **FINISHED)))
    row = dict(zip(header, rows[0], strict=True))
    assert row["best error %"] == "8.50"
    assert row["median error %"] == "11.25"


def test_a_space_with_no_finished_trial_is_not_said_to_have_finished_too_few():
    # It has no error to read at all: the table says "no finished trial" instead.
    p_note = report_notes(_summary(_space("anynetx_a", MIN_TRUSTED_N, **FINISHED),
                                   _space("anynetx_b", 0)))[2]
    assert "finished too few" not in p_note
    assert "anynetx_b" not in p_note


def test_a_space_that_finished_few_is_named_with_its_count():
    p_note = report_notes(_summary(_space("anynetx_a", 12, **FINISHED)))[2]
    assert "anynetx_a (12) finished too few models" in p_note


def test_the_macs_bins_are_named_only_where_fewer_were_compared_than_finished():
    all_compared = verdict_words("a", "b", 0.4, 0.0, 0.001, sizes=(10, 40), finished=(10, 40))
    assert "(under 30 per space: a 10)" in all_compared
    assert "MACs bins" not in all_compared
    some_left = verdict_words("a", "b", 0.4, 0.0, 0.001, sizes=(10, 40), finished=(14, 40))
    assert "space in the MACs bins both spaces hold: a 10 of 14" in some_left


def test_a_gap_below_of_float_rounding_alone_reads_never_below():
    # A running sum of weights can leave 2e-16 where the curves touch.
    words = verdict_words("a", "b", 0.5, 2e-16, 0.001, sizes=(40, 40))
    assert words.endswith("never below")
    assert "below by up to 0.000" not in words
    assert "below by up to 0.010 elsewhere" in verdict_words("a", "b", 0.5, 0.01, 0.001)
