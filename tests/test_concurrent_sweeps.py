"""Two commands creating one sweep at once: the store ends as one sweep, never the spec of
one over the trials of the other."""

from __future__ import annotations

import json

import pytest
from design_helpers import tiny_spec

from cnnlab.design import store as store_module
from cnnlab.design.store import SweepError, TrialStore

SHAPE = {"image_size": 28, "in_channels": 1, "num_classes": 10}  # as create_sweep fills it


def test_a_sweep_created_meanwhile_is_not_overwritten(tmp_path, monkeypatch):
    """`design run --out DIR` twice at once, other spaces: both found no spec, drew their
    trials, and the later one's spec replaced the first's over the first's trials."""
    first, second = (tiny_spec("anynetx_a", seed=1, **SHAPE),
                     tiny_spec("anynetx_e", seed=2, **SHAPE))
    plan = store_module.plan_trials
    other = TrialStore(tmp_path, create=True)

    def drawn_while_the_other_creates(spec, start, n):
        if spec is second:  # while this command draws, the first one stores its sweep
            monkeypatch.setattr(store_module, "plan_trials", plan)
            other.init_sweep(first, 3)
        return plan(spec, start, n)

    monkeypatch.setattr(store_module, "plan_trials", drawn_while_the_other_creates)
    with TrialStore(tmp_path, create=True) as late, \
            pytest.raises(SweepError, match="holds a different sweep"):
        late.init_sweep(second, 3)
    other.close()
    with TrialStore(tmp_path) as kept:
        assert kept.spec().space == "anynetx_a" and kept.spec().seed == 1
        assert {t["space"] for t in kept.trials()} == {"anynetx_a"}
        assert kept.count() == 3


def test_the_same_sweep_created_meanwhile_is_joined(tmp_path, monkeypatch):
    """The same sweep asked for twice at once: one sweep, of the larger size asked."""
    spec = tiny_spec(**SHAPE)
    plan = store_module.plan_trials
    other = TrialStore(tmp_path, create=True)
    calls = []

    def drawn_while_the_other_creates(s, start, n):
        calls.append(n)
        if len(calls) == 1:
            monkeypatch.setattr(store_module, "plan_trials", plan)
            other.init_sweep(spec, 2)
        return plan(s, start, n)

    monkeypatch.setattr(store_module, "plan_trials", drawn_while_the_other_creates)
    with TrialStore(tmp_path, create=True) as late:
        assert late.init_sweep(spec, 4)["pending"] == 4
        assert late.planned() == 4
        assert json.loads(json.dumps(late.spec().to_dict())) == late.meta()["spec"]
    other.close()


def test_a_refused_command_removes_only_a_new_sweep_of_its_own(tmp_path):
    """The command refused for asking another sweep went on to remove the untrained new
    sweep it took for its own: the other command's, created a moment before that one
    took its lock (the lock is free then)."""
    from cnnlab.design.folders import remove_untrained_sweep

    winner, loser = (tiny_spec("anynetx_a", seed=1, **SHAPE),
                     tiny_spec("anynetx_e", seed=2, **SHAPE))
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(winner, 3)
    remove_untrained_sweep(tmp_path, None, loser)
    with TrialStore(tmp_path) as kept:
        assert kept.spec().space == "anynetx_a" and kept.count() == 3
    remove_untrained_sweep(tmp_path, None, winner)  # its own: as if never made
    assert not (tmp_path / "trials.sqlite").exists()
