"""A sweep as created is what its trials get: `create_sweep` from Python refuses a sweep
of no trials, leaving the folder as it was (the CLI's --n has its own check), and each
trial trains on the sweep's train_subset, not the whole training set.

Mutation testing (session 38) found neither guarded: with `n < 1` made `n < 0` (R25)
an empty sweep was made, which `design run` then reported finished with no trial; with
the subset dropped from the task sent to workers (mutation19's R26) every trial trained
on all the images, slower and with other numbers than the sweep says.
"""

from __future__ import annotations

import dataclasses
import types

import pytest
from design_helpers import tiny_spec

import cnnlab.train.run as train_run
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import SweepError


@pytest.mark.parametrize("n", [0, -2])
def test_a_sweep_of_no_trials_is_refused_and_makes_no_file(tmp_path, n):
    folder = tmp_path / "sweep"
    with pytest.raises(SweepError, match=f"a sweep needs n >= 1 trials, got {n}"):
        create_sweep(folder, tiny_spec(), n)
    assert not folder.exists() or not any(folder.iterdir())


def test_each_trial_trains_on_the_sweeps_train_subset(tmp_path, monkeypatch):
    seen = []

    def train(cfg, data, **kw):
        seen.append(len(data.train))
        return types.SimpleNamespace(final={"test_acc": 0.5, "epoch": 1},
                                     best_test_acc=0.5, train_time_s=0.01)

    monkeypatch.setattr(train_run, "train", train)
    create_sweep(tmp_path, dataclasses.replace(tiny_spec(), train_subset=48), 2)
    assert run_sweep(tmp_path, threads=1, on_result=lambda row: None)["done"] == 2
    assert seen == [48, 48]
