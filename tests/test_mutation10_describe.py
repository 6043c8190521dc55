"""Boundary checks of the sweep descriptions that a manual mutation test (helper
mutation10, session 37) found unchecked: exactly FEW_STEPS steps is enough, a subset as
large as the split is all of it, and p equal to the level is not significant."""

from __future__ import annotations

from cnnlab.design.describe import FEW_STEPS, _images, few_steps_note, steps_per_trial
from cnnlab.design.report_text import verdict_words


def test_exactly_few_steps_is_enough_and_one_fewer_is_not():
    # Synthetic data, 1 epoch, batch 1: the steps are the training subset's images.
    spec = {"data": "synthetic", "train": {"epochs": 1, "batch_size": 1}}
    assert steps_per_trial({**spec, "train_subset": FEW_STEPS}) == FEW_STEPS
    assert few_steps_note({**spec, "train_subset": FEW_STEPS}) is None
    assert few_steps_note({**spec, "train_subset": FEW_STEPS - 1}) is not None


def test_a_subset_as_large_as_the_split_is_all_of_it():
    assert _images(128, "test", "synthetic").startswith("all of the test split")
    assert _images(127, "test", "synthetic") == "the first 127 of the test split"


def test_p_equal_to_the_level_is_not_significant():
    words = verdict_words("a", "b", 0.3, 0.0, 0.05, sizes=(100, 100))
    assert words.startswith("no significant difference"), words


def test_best_trials_break_ties_in_error_by_the_lower_id():
    from cnnlab.design.describe import best_trials

    def row(i, error):
        return {"id": i, "error_pct": error, "macs": 1, "params": 1, "acts": 1,
                "sample": {}, "config": {"depths": [1, 1], "widths": [16, 32],
                                         "bottleneck_ratios": [1.0, 1.0],
                                         "group_widths": [8, 8]}}
    best = best_trials([row(5, 10.0), row(2, 10.0), row(9, 9.0), row(7, 10.0)], k=3)
    assert [b["id"] for b in best] == [9, 2, 5]
