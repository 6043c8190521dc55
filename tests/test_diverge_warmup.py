"""A warm-up that passes the config's check in epochs but, rounded to optimizer steps,
takes the whole run (the learning rate never decays) is said, with both step counts."""

import re
import warnings

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.notices import SetupWarning
from cnnlab.train import TrainConfig
from cnnlab.train.lr_plan import lr_factor, warmup_step_count, warn_of_a_warmup_without_room
from cnnlab.train.trainer import Trainer


def said(warmup_epochs, epochs, schedule, steps_per_epoch) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_of_a_warmup_without_room(warmup_epochs, epochs, schedule, steps_per_epoch)
    return [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]


def test_the_trainer_says_a_warmup_of_every_step_with_both_numbers():
    # 1.96 of 2 epochs passes check_new_run (fewer than the epochs), but 10 steps an epoch
    # round it to all 20 steps of the run: onecycle's decay never starts.
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                      schedule="onecycle", warmup_epochs=1.96, device="cpu", quiet=True)
    cfg.validate().check_new_run()
    with pytest.warns(SetupWarning, match=r"warmup_epochs 1\.96 is a warm-up of 20 optimizer "
                      r"steps \(of 10 an epoch\) and the run has 20 \(2 epochs\): the "
                      r"onecycle schedule's learning rate never decays"):
        trainer = Trainer(cfg, make_synthetic(num_train=640, num_test=32))
    factors = [trainer.scheduler.lr_lambdas[0](s) for s in range(20)]
    assert factors == sorted(factors)  # what the warning says: it only ever climbs


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_decay_needs_two_steps_after_the_warmup(schedule):
    # 0.98 of 1 epoch of 50 steps: 49 of 50, and the decay's first step is at the peak.
    assert lr_factor(schedule, 49, 50, 49) == 1.0
    (message,) = said(0.98, 1, schedule, 50)
    assert "49 optimizer steps (of 50 an epoch) and the run has 50" in message
    fits = float(re.search(r"give warmup_epochs ([\d.]+) or less", message)[1])
    assert warmup_step_count(fits, 50) == 48  # the longest that leaves a step below the peak
    assert lr_factor(schedule, 49, 50, 48) < 1.0
    assert said(fits, 1, schedule, 50) == []


def test_a_constant_schedule_needs_one_step_at_its_peak():
    assert said(1.9, 2, "constant", 10) == []  # 19 of 20: the last step at the peak
    (message,) = said(1.96, 2, "constant", 10)
    assert "schedule's learning rate climbs all the run" in message


def test_a_run_too_short_for_any_warmup_says_so():
    # The fast preset's 0.3 on a run of 1 step: a warm-up is 2 steps at least.
    (message,) = said(0.3, 1, "onecycle", 1)
    assert "warm-up of 2 optimizer steps (of 1 an epoch) and the run has 1" in message
    assert "give warmup_epochs 0 (no warm-up" in message
    assert said(0, 1, "onecycle", 1) == []


def test_a_presets_own_warmup_is_its_choice_and_not_said():
    # The fast preset's 0.3 epochs on a quick run of two batches: said in every test run
    # and quick trial, about a value the user never gave (as the preset's EMA decay is not).
    from cnnlab.train import resolve_config

    cfg = resolve_config("lenet_modern", preset="fast", overrides={
        "data": "synthetic", "epochs": 1, "batch_size": 32, "device": "cpu", "quiet": True})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(cfg, make_synthetic(num_train=64, num_test=16))
    assert not [w for w in caught if "warm-up" in str(w.message)]
    given = resolve_config("lenet_modern", preset="fast", overrides={
        "data": "synthetic", "epochs": 1, "batch_size": 32, "device": "cpu", "quiet": True,
        "warmup_epochs": 0.5})
    with pytest.warns(SetupWarning, match="warm-up of 2 optimizer steps"):
        Trainer(given, make_synthetic(num_train=64, num_test=16))
