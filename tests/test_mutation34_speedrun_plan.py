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
