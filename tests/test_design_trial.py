"""design/trial.py: a trial in the caller's own process leaves its thread count alone."""

import torch

from cnnlab.design.trial import run_trial


def test_a_failed_trial_returns_its_error_and_puts_the_thread_count_back():
    before = torch.get_num_threads()
    task = {"id": 7, "threads": before + 1,
            "train": {"model": "no_such_model", "epochs": 1, "device": "cpu"},
            "data": {"data": "synthetic", "data_root": None, "train_subset": 16}}
    row = run_trial(task)
    assert row["status"] == "failed" and "no_such_model" in row["message"]
    assert torch.get_num_threads() == before
