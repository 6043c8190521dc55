"""`cnnlab speedrun` refusing two studies at once (mutation testing, session 40)."""

import pytest

from cnnlab.cli.speedrun_plan import plan_study
from cnnlab.train import ConfigError


def test_an_ablation_and_candidates_together_are_refused():
    options = dict(target=None, runs=1, device="cpu", time_budget=None, model=None,
                   epochs=None, batch_size=None, lr=None, compile=False, threads=None,
                   set_=None, confirm=0, warmup=None, out=None)
    with pytest.raises(ConfigError, match="--ablate and --candidate are two different"):
        plan_study(ablate=True, candidate=["epochs=2"], **options)
    assert plan_study(ablate=False, candidate=["epochs=2"], **options).candidates


_OPTIONS = dict(target=None, device="cpu", time_budget=None, model=None, epochs=None,
                batch_size=None, lr=None, compile=False, threads=None, candidate=None,
                confirm=0, warmup=None)


def test_a_seed_whose_later_runs_overflow_is_refused_before_any_run():
    # run 1's seed is valid; run 3's (2**64) is not: refused now, not two runs in
    with pytest.raises(ConfigError, match="take seeds 18446744073709551614 to "
                                          "18446744073709551616"):
        plan_study(runs=3, set_=[f"seed={2**64 - 2}"], ablate=False, out=None, **_OPTIONS)


def test_an_ablations_chart_name_given_as_out_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="the --ablate chart goes beside it"):
        plan_study(runs=1, set_=None, ablate=True, out=tmp_path / "study.png", **_OPTIONS)


def test_a_negative_confirm_is_refused():
    with pytest.raises(ConfigError, match="--confirm one >= 0"):
        plan_study(runs=1, set_=None, ablate=False, out=None,
                   **{**_OPTIONS, "candidate": ["epochs=2"], "confirm": -1})
