"""The speedrun study's defaults on a CUDA GPU (mutation40), where issue #7's numbers are
taken: planned here with the device only named, no GPU needed. Each test pinned a
hand-made mutant that every other test let pass."""

import pytest
import torch


@pytest.fixture
def on_cuda(monkeypatch):
    import cnnlab.train.device

    monkeypatch.setattr(cnnlab.train.device, "select_device", lambda name: torch.device("cuda"))


def _plan(**given):
    from cnnlab.cli.speedrun_plan import plan_study

    options = dict(target=None, runs=10, device="auto", time_budget=None, model=None,
                   epochs=None, batch_size=None, lr=None, compile=False, threads=None,
                   set_=None, ablate=False, candidate=None, confirm=0, warmup=None, out=None)
    return plan_study(**{**options, **given})


def test_a_gpu_study_aims_at_94_percent_after_a_warm_up_by_default(on_cuda):
    # Without the warm-up, run 1 is charged CUDA's start-up and cuDNN's autotuning.
    study = _plan()
    assert study.target == 0.94 and study.warm is True
    assert study.settings["target"] == 0.94 and study.settings["warmup"] is True
    study = _plan(warmup=False, target=0.95)
    assert study.target == 0.95 and study.warm is False


def test_a_warm_up_seed_past_the_last_valid_one_is_refused_before_any_run(on_cuda):
    # The warm-up takes seed S + 99999: with it on (a GPU's default) this S is refused
    # now, not after the data loaded; without it, the runs' own seeds are valid.
    from cnnlab.train import ConfigError

    first = 2**64 - 50_000
    with pytest.raises(ConfigError, match=f"take seeds {first} to {first + 99_999} "):
        _plan(set_=[f"seed={first}"])
    assert _plan(set_=[f"seed={first}"], warmup=False).first_seed == first


def test_a_seed_of_true_is_refused_not_read_as_1():
    from cnnlab.train import ConfigError

    with pytest.raises(ConfigError, match="seed must be a whole number"):
        _plan(device="cpu", set_=["seed=true"])


def test_an_ablation_does_not_rerun_the_recipe_under_a_variants_name(on_cuda):
    # The GPU recipe already whitens its first layer: "adding" it is the full recipe
    # again, whose runs would cost a GPU study time and chart a bar of noise.
    from cnnlab.bench.speedrun import ABLATIONS

    study = _plan(ablate=True, runs=2)
    assert "whitened first layer (held)" not in study.plan
    assert "no whitened first layer" in study.plan
    assert len(study.plan) == len(ABLATIONS) - 1
    assert study.settings["variants"] == list(study.plan)
