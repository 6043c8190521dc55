"""Edges of a sweep's description that session 39's mutation testing of
design/describe.py found unchecked: the decimals of a test split smaller than the subset
asked for (or of unknown size), and the optimizer steps of an epoch whose last batch
training drops."""

from __future__ import annotations

from cnnlab.design.describe import (
    error_decimals,
    few_steps_note,
    steps_per_trial,
    sweep_setup,
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
