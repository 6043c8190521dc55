"""Which evaluation a report shows, and the ends of a cut per-class table: a class is
shown at one end at most, even where few classes were scored (most have no test
image), and a class whose accuracy is NaN (no image: what evaluate gives) is listed
as unscored, never ranked."""

import math

from cnnlab.train.report_evaluation import CLASSES_LISTED_WHOLE, ranked_classes, shown_evaluation


def test_few_scored_classes_are_each_shown_once_lowest_first():
    names = [f"c{i}" for i in range(CLASSES_LISTED_WHOLE + 1)]
    accs = dict.fromkeys(names, math.nan) | {"c3": 0.9, "c1": 0.2, "c7": 0.5, "c5": 0.5}
    ranked = ranked_classes(accs)
    assert ranked.lowest == ["c1", "c5", "c7", "c3"]  # a tie in the classes' order
    assert ranked.highest == []  # all four are at the low end already
    assert ranked.unscored == [n for n in names if n not in ("c1", "c3", "c5", "c7")]
    assert ranked.total == len(names)


def test_nan_and_none_classes_are_unscored_at_both_ends():
    names = [f"c{i}" for i in range(40)]
    accs = {n: i / 40 for i, n in enumerate(names)} | {"c0": math.nan, "c39": None}
    ranked = ranked_classes(accs)
    assert ranked.lowest == names[1:11] and ranked.highest == names[38:28:-1]
    assert ranked.unscored == ["c0", "c39"]


def test_a_summary_naming_neither_a_best_nor_a_last_epoch_shows_no_best(tmp_path):
    """(It would say "the best checkpoint" of a run that has none.)"""
    shown = shown_evaluation(tmp_path, {"per_class_acc": {"a": 0.5, "b": 1.0},
                                        "confusion": [[1, 1], [0, 2]]})
    assert shown.epoch is None and not shown.is_best
    assert shown.per_class_acc == {"a": 0.5, "b": 1.0}
