"""`cnnlab design analyze` of a sweep none of whose trials finished, every failed one
diverged: it pointed at --retry-failed, which trains them with the same recipe (each
trial's own message says it would diverge again); `design run` had stopped saying so."""

from __future__ import annotations

import pytest
from test_design_report import sweep
from test_researcher42_design_failed import DIVERGED

from cnnlab.design.report import NothingFinished, analyze
from cnnlab.design.store import TrialStore


def _all_failed(folder, messages):
    folder = sweep(folder, [30.0])
    with TrialStore(folder) as store:
        store.init_sweep(store.spec(), 1 + len(messages))
        for i, message in enumerate([messages[0], *messages]):  # trial 0 (done) too
            store.mark_running(i, "lab-pc:101")
            store.record(i, "failed", message=message, worker="lab-pc:101")
    return folder


def test_diverged_trials_are_not_sent_to_retry_failed(tmp_path):
    with pytest.raises(NothingFinished) as info:
        analyze([_all_failed(tmp_path / "s", [DIVERGED])], tmp_path / "r", resamples=50)
    assert "no trial has finished" in str(info.value)
    assert "--retry-failed" not in str(info.value)


def test_a_broken_trial_still_is(tmp_path):
    folder = _all_failed(tmp_path / "s", [DIVERGED, "RuntimeError: CUDA out of memory"])
    with pytest.raises(NothingFinished, match="--retry-failed"):
        analyze([folder], tmp_path / "r", resamples=50)
