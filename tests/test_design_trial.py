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


def test_a_diverging_trial_gives_advice_a_sweep_can_follow(tmp_path):
    """A NaN loss in a trial was stored with a run's advice: "--clip-grad-norm 1.0" (not
    an option of design run) and "a lower --lr" (which --resume refuses)."""
    from dataclasses import replace

    from design_helpers import tiny_spec

    from cnnlab.design.runner import _task, create_sweep
    from cnnlab.design.store import TrialStore

    spec = tiny_spec()
    spec = replace(spec, train_subset=None, train={**spec.train, "lr": 1e9})
    create_sweep(tmp_path, spec, 1)
    with TrialStore(tmp_path) as store:
        task = _task(store.trial(0), store.spec(), 1)
    row = run_trial(task)
    assert row["status"] == "failed", row
    said = row["message"]
    assert said.startswith("TrainingDiverged: the loss became NaN/inf at epoch 1, step ")
    assert "(lr 1000000000.0): the sweep's recipe diverges on this network" in said
    assert "new sweep (another --out) with a lower --lr, or with --set clip_grad_norm=1.0" \
        in said and "--clip-grad-norm" not in said
