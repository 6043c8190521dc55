"""Small parts of the zoo's figures a mutation pass found untested: the epochs phrase of
three or more runs, the size key of a round longest time, and the largest bubble's area."""

import pytest
from test_bench_zoo_report import ZOO, _bubbles

from cnnlab.bench import zoo_report


def test_the_epochs_phrase_spans_the_least_to_the_most():
    assert zoo_report._epochs_phrase([5, 1, 10, 5]) == "1-10 epochs"
    assert zoo_report._epochs_phrase([1]) == "1 epoch"


@pytest.mark.parametrize(("longest", "key"), [(100.0, [100, 20, 5]), (20.0, [20, 5, 1]),
                                               (5.0, [5, 1, 0.2]), (3100.0, [2000, 500, 100])])
def test_a_round_longest_time_keys_itself(longest, key):
    # a round number (m exactly 1, 2 or 5) must not fall through to the next size down
    assert zoo_report.reference_times(longest) == pytest.approx(key)


def test_the_longest_training_gets_the_largest_bubble_of_a_fixed_area():
    ax = zoo_report.cost_figure(ZOO, "macs").axes[0]
    sizes = [float(s) for c in _bubbles(ax) for s in c.get_sizes()]
    assert max(sizes) == pytest.approx(zoo_report._BUBBLE_MAX_PT2)


def test_rows_of_two_datasets_name_neither():
    import json

    rows = [dict(ZOO[0], setup=json.dumps({"data": d})) for d in ("synthetic", "folder:/x")]
    assert zoo_report._data_name(rows) == ""
    assert zoo_report._data_name(rows[:1]) == "synthetic data"
