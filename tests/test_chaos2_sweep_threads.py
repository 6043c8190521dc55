"""A sweep resumed without --threads trains with the thread count its trials trained
with: `design run --resume DIR`, as the help gives it, repeats an uninterrupted sweep's
numbers on a CPU (they depend on the count)."""

from __future__ import annotations

import warnings

import pytest
import torch
from design_helpers import tiny_spec

import cnnlab.design.executors as executors
import cnnlab.train.run as train_run
from cnnlab.design.runner import SweepInterrupted, create_sweep, run_sweep
from cnnlab.design.store import TrialStore


def test_a_bare_resume_keeps_the_sweeps_thread_count(tmp_path, monkeypatch):
    real, threads_seen = train_run.train, []

    def stopped_at_trial_1(cfg, **kw):
        threads_seen.append(torch.get_num_threads())
        if cfg.seed == 1 and len(threads_seen) == 2:
            raise KeyboardInterrupt  # the first try at trial 1: Ctrl-C
        return real(cfg, **kw)

    monkeypatch.setattr(train_run, "train", stopped_at_trial_1)
    # Cores / workers would give 3: not the sweep's 1, whatever this machine has.
    monkeypatch.setattr(executors, "_cores", lambda: 3)
    create_sweep(tmp_path, tiny_spec(), 2)
    with pytest.raises(SweepInterrupted):
        run_sweep(tmp_path, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "these will with 3" warning
        assert run_sweep(tmp_path)["done"] == 2
    assert threads_seen == [1, 1, 1]
    with TrialStore(tmp_path) as store:
        assert store.meta()["threads"] == 1


def test_a_resume_keeps_the_count_only_where_the_cores_hold_it(tmp_path, monkeypatch):
    # Recorded 2 threads; resumed where 1 core is there: cores / workers (1), and the
    # warning that names the sweep's count, not 2 threads on 1 core unsaid.
    real, threads_seen = train_run.train, []

    def stopped_at_trial_1(cfg, **kw):
        threads_seen.append(torch.get_num_threads())
        if cfg.seed == 1 and len(threads_seen) == 2:
            raise KeyboardInterrupt
        return real(cfg, **kw)

    monkeypatch.setattr(train_run, "train", stopped_at_trial_1)
    create_sweep(tmp_path, tiny_spec(), 2)
    with pytest.raises(SweepInterrupted):
        run_sweep(tmp_path, threads=2)
    monkeypatch.setattr(executors, "_cores", lambda: 1)
    assert not executors.fits_the_cores(2, None) and executors.fits_the_cores(1, None)
    with pytest.warns(UserWarning, match=r"trained with 2 torch thread\(s\).*keeps them "
                                         r"alike \(more threads than this machine has cores"):
        assert run_sweep(tmp_path)["done"] == 2
    assert threads_seen == [2, 2, 1]
