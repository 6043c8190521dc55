"""The weight EMA's warm-up: a run too short to reach its ema_decay is told so, once, and
the option's help gives the rule."""

import re
import warnings

from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data.synthetic import make_synthetic
from cnnlab.notices import SetupWarning
from cnnlab.train import TrainConfig, train
from cnnlab.train.optim import ema_decay_at, ema_updates_to_reach

DATA = make_synthetic(num_train=256, num_test=64, seed=1)  # 8 optimizer steps an epoch


def cfg(tmp_path, ema_decay: float) -> TrainConfig:
    return TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                       ema_decay=ema_decay, device="cpu", quiet=True, out_dir=str(tmp_path),
                       threads=1)


def test_the_updates_to_reach_a_decay_follow_the_emas_own_arithmetic():
    for decay, updates in ((0.5, 8), (0.99, 890), (0.999, 8990), (0.9999, 89990)):
        assert ema_updates_to_reach(decay) == updates
        assert ema_decay_at(decay, updates) == decay > ema_decay_at(decay, updates - 1)


def test_a_run_too_short_for_its_ema_decay_is_told_once(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg(tmp_path, 0.9999), data=DATA, write_run_dir=False)
    told = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    assert len(told) == 1, told
    assert told[0].startswith("ema_decay 0.9999 is never reached in this run")
    assert "its 8 steps end at 0.5000" in told[0] and "needs 89,990 steps" in told[0]


def test_a_run_that_reaches_its_ema_decay_is_not_told(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)
        train(cfg(tmp_path, 0.5), data=DATA, write_run_dir=False)  # reached at step 8
        train(cfg(tmp_path, 0.0), data=DATA, write_run_dir=False)  # no EMA


def test_the_train_help_says_the_rule():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert ("after n optimizer steps the EMA applies the smaller of this and (1 + n)/(10 + n), "
            "so a run of fewer than about 9/(1 - decay) steps never reaches it") in text


def test_the_presets_own_decay_is_not_warned_about_every_run(tmp_path):
    # The fast preset's 0.999 is warm-up-bound in a normal run by design: only a decay
    # the user chose is told.
    from cnnlab.train import resolve_config

    fast = resolve_config("lenet_modern", "fast", overrides=dict(
        data="synthetic", epochs=1, batch_size=32, device="cpu", quiet=True, threads=1))
    assert fast.ema_decay == 0.999
    with warnings.catch_warnings():
        warnings.simplefilter("error", SetupWarning)
        train(fast, data=DATA, write_run_dir=False)
    chosen = resolve_config("lenet_modern", "fast", overrides=dict(
        data="synthetic", epochs=1, batch_size=32, device="cpu", quiet=True, threads=1,
        ema_decay=0.9999))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(chosen, data=DATA, write_run_dir=False)
    assert any("ema_decay 0.9999 is never reached" in str(w.message) for w in caught)
