"""Edges of a sweep's description that session 39's mutation testing of
design/describe.py found unchecked: the decimals of a test split smaller than the subset
asked for (or of unknown size), and the optimizer steps of an epoch whose last batch
training drops."""

from __future__ import annotations

from datetime import datetime

from cnnlab.design.describe import (
    _fit_text,
    _most_at_once,
    at_chance_note,
    best_trials_rows,
    error_decimals,
    few_steps_note,
    setup_tables,
    steps_per_trial,
    sweep_setup,
    trained_with,
    who_trains,
)


def test_a_subset_larger_than_the_test_split_gets_the_splits_decimals():
    # synthetic's test split holds 128 images: asking for 20,000 measures on 128
    assert error_decimals({"data": "synthetic", "train": {"eval_subset": 20_000}}) == 1
    assert error_decimals({"data": "fashion-mnist", "train": {"eval_subset": 20_000}}) == 2


def test_a_test_split_of_unknown_size_keeps_two_decimals():
    assert error_decimals({"data": "folder:/photos", "train": {}}) == 2


def test_a_last_batch_of_one_image_is_no_step():
    # training drops it (cnnlab/train/run_data.py: batch norm cannot normalise one image)
    spec = {"data": "synthetic", "train": {"epochs": 2, "batch_size": 128}}
    assert steps_per_trial({**spec, "train_subset": 129}) == 2 * 1
    assert steps_per_trial({**spec, "train_subset": 130}) == 2 * 2
    assert steps_per_trial({**spec, "train_subset": 1}) == 2  # a lone image is the epoch
    # 99 batches of 128 and one of 1: 99 steps, under the 100 that learn
    one_over = {"data": "fashion-mnist", "train_subset": 99 * 128 + 1,
                "train": {"epochs": 1, "batch_size": 128}}
    assert steps_per_trial(one_over) == 99
    assert "only 99 optimizer steps" in few_steps_note(one_over)


def test_a_training_subset_larger_than_the_split_trains_on_the_split():
    spec = {"data": "synthetic", "train": {"epochs": 1, "batch_size": 128}}
    assert steps_per_trial({**spec, "train_subset": 10_000}) == 512 // 128


def test_trials_left_running_are_not_finished():
    setup = sweep_setup({"space": "anynetx_a"}, {}, 10,
                        {"done": 5, "failed": 1, "running": 2, "pending": 2}, [])
    assert setup["trials"] == "10 planned: 5 done, 1 failed, 4 not finished"


def test_one_class_has_no_chance_level():
    assert at_chance_note([50.0, 60.0], 1) is None
    assert at_chance_note([89.5, 95.0], 10) is not None


def best(i: int, error: float) -> dict:
    return {"id": i, "error_pct": error, "macs": 1e6, "params": 1e4, "acts": 1e4,
            "depths": [1], "widths": [8], "bottleneck_ratios": [1.0], "group_widths": [8],
            "regnet_fit": {"w0": 8, "wa": 1.5, "wm": 2.25, "e_fit": 0.0}}


def test_best_networks_rank_lowest_error_first_over_every_space_ties_in_space_order():
    spaces = [{"label": "A", "best_trials": [best(3, 10.0), best(4, 30.0)]},
              {"label": "B", "best_trials": [best(0, 5.0), best(2, 10.0)]}]
    rows = best_trials_rows(spaces)
    assert [(r[0], r[1]) for r in rows] == [("B", "0"), ("A", "3"), ("B", "2"), ("A", "4")]
    assert rows[0][-1] == "w0 8, wa 1.5, wm 2.25 (0.000)"
    assert _fit_text({"w0": 8, "wa": 1.5, "wm": 2.25, "e_fit": 0.0, "widths": [8]}) == (
        "w0 8, wa 1.5, wm 2.25 (0.000 to widths [8], before the group-width step)")


def test_what_two_sweeps_share_is_said_once_and_what_differs_per_sweep():
    spaces = [{"label": "A", "setup": {"data": "synthetic", "space": "anynetx_a"}},
              {"label": "B", "setup": {"data": "synthetic", "space": "anynetx_e"}}]
    assert setup_tables(spaces) == [
        ("Every sweep", ["setting", "value"], [["data", "synthetic"]]),
        ("Per sweep", ["setting", "A", "B"], [["space", "anynetx_a", "anynetx_e"]])]


def test_trials_one_after_another_count_one_at_a_time():
    rows = [{"started_at": 0, "finished_at": 10}, {"started_at": 10, "finished_at": 20},
            {"started_at": 20, "finished_at": 30}]
    assert _most_at_once(rows) == 1
    assert _most_at_once([*rows, {"started_at": 5, "finished_at": 25}]) == 2
    day = 1_700_000_000  # 2023-11-14
    setup = sweep_setup({"space": "anynetx_a"}, {}, 3, {"done": 3},
                        [{"started_at": day + 3600 * r["started_at"],
                          "finished_at": day + 3600 * r["finished_at"]} for r in rows])
    start, _, end = setup["trained"].partition(" to ")
    assert (datetime.strptime(end[:16], "%Y-%m-%d %H:%M")
            - datetime.strptime(start, "%Y-%m-%d %H:%M")).total_seconds() == 30 * 3600
    assert setup["trained"].endswith(", one trial at a time")


def code(sources: str) -> dict:
    return {"cnnlab": "0.1.0", "sources": sources, "torch": "2.5.1"}


def test_the_codes_that_trained_most_trials_are_named_and_unrecorded_ones_counted():
    one = [{"code": code("a" * 12)}] * 2
    assert trained_with(one) == ("cnnlab 0.1.0 (sources aaaaaaaaaaaa), torch 2.5.1 "
                                 "(all 2 done trials)")
    assert trained_with([*one, {}]) == (
        "cnnlab 0.1.0 (sources aaaaaaaaaaaa), torch 2.5.1 (2 trials); not recorded for 1 "
        "(trained before cnnlab recorded each trial's code)")
    rows = [{"code": code(c)} for c in "aaaabbbccd"]
    said = trained_with(rows)
    assert said.startswith("4 different codes: cnnlab 0.1.0 (sources a), torch 2.5.1 "
                           "(4 trials); cnnlab 0.1.0 (sources b)"), said
    assert said.endswith("; 1 other codes (1 trial)")


def test_a_sweep_with_only_trials_left_running_is_not_finished():
    said = who_trains({"running": 2, "done": 3}, None, None, "cnnlab design run --resume s")
    assert said == ("not running (2 left 'running' by a sweep that was stopped: none trains "
                    "now); finish it with: cnnlab design run --resume s")
    assert who_trains({"done": 3}, None, None, "x") is None


def test_a_best_network_carries_its_fitted_rule_each_parameter_its_own():
    from cnnlab.design.describe import best_trials
    from cnnlab.design.regnet_fit import fit_regnet

    config = {"depths": [1, 2, 3], "widths": [24, 56, 152], "bottleneck_ratios": [1.0] * 3,
              "group_widths": [8] * 3}
    row = {"id": 0, "error_pct": 9.0, "macs": 1, "params": 1, "acts": 1, "sample": {},
           "config": config}
    fit = fit_regnet([1, 2, 3], [24, 56, 152])
    assert round(fit.wa, 3) != round(fit.wm, 3)
    assert best_trials([row])[0]["regnet_fit"] == {
        "w0": fit.w0, "wa": round(fit.wa, 3), "wm": round(fit.wm, 3),
        "e_fit": round(fit.fit_error, 4)}
