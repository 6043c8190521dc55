"""A resume with a new plan (--epochs, --max-time) killed just after its first checkpoint,
before config.yaml took the plan: the next plain resume goes on under the plan the
checkpoint was trained under, not the older one config.yaml still held."""

from __future__ import annotations

import pytest
from resume_helpers import small_run

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, resume
from cnnlab.train.resumable import Resumable


class Killed(BaseException):
    """The SIGKILL: nothing after it runs."""


def kill_before_the_plan_is_saved(monkeypatch):
    def killed(self):
        if self.after_first_checkpoint is not None:
            raise Killed
    monkeypatch.setattr(Resumable, "_first_checkpoint_written", killed)


def data():
    return make_synthetic(num_train=128, num_test=32, seed=1)  # small_run's


def test_more_epochs_killed_after_their_first_checkpoint(tmp_path, monkeypatch):
    # Found by SIGKILLing `cnnlab resume RUN --epochs 2` when last.safetensors changed: a
    # plain resume then wrote its report as finished, "epochs 5 of 4".
    run = small_run(tmp_path, monkeypatch, epochs=1).run_dir
    with monkeypatch.context() as patch:
        kill_before_the_plan_is_saved(patch)
        with pytest.raises(Killed):
            resume(run, data=data(), extra_epochs=2)
    assert TrainConfig.load(run / "config.yaml").epochs == 1  # the kill's window
    result = resume(run, data=data())
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert TrainConfig.load(run / "config.yaml").epochs == 3


def test_a_lifted_budget_killed_after_its_first_checkpoint(tmp_path, monkeypatch):
    # `cnnlab resume RUN --max-time 0` of a run its budget stopped, killed the same way:
    # a plain resume ended it "stopped: max_time" at the checkpoint's epoch.
    run = small_run(tmp_path, monkeypatch, epochs=3, max_time=1e-9).run_dir
    with monkeypatch.context() as patch:
        kill_before_the_plan_is_saved(patch)
        with pytest.raises(Killed):
            resume(run, data=data(), max_time=0)
    result = resume(run, data=data())
    assert result.stopped is None
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert TrainConfig.load(run / "config.yaml").max_time is None


def _caught_up(tmp_path, monkeypatch, config: dict, state: dict) -> TrainConfig:
    from cnnlab.train import checkpoint as ckpt
    from cnnlab.train.resume_checks import load_plan

    TrainConfig(model="lenet_modern", data="synthetic", **config).save(tmp_path / "config.yaml")
    monkeypatch.setattr(ckpt, "read_state", lambda path: state)
    return load_plan(tmp_path / "config.yaml", tmp_path / "last.safetensors")


def test_more_epochs_whose_first_checkpoint_was_mid_epoch(tmp_path, monkeypatch):
    # `resume --epochs 2` of a 1-epoch run, Ctrl-C'd (or cut) inside epoch 2, then killed
    # before config.yaml took the plan: a plain resume called the run finished.
    cfg = _caught_up(tmp_path, monkeypatch, {"epochs": 1},
                     {"epoch": 1, "step_in_epoch": 3, "train_time": 2.0,
                      "config": {"epochs": 3, "max_time": None}})
    assert cfg.epochs == 3 and TrainConfig.load(tmp_path / "config.yaml").epochs == 3


def test_a_budget_set_where_there_was_none(tmp_path, monkeypatch):
    # `resume --max-time 1000` of a run without one, killed in the same window: the
    # next resume trained without a budget.
    cfg = _caught_up(tmp_path, monkeypatch, {"epochs": 5},
                     {"epoch": 2, "step_in_epoch": 0, "train_time": 2.0,
                      "config": {"epochs": 5, "max_time": 1000.0}})
    assert cfg.max_time == 1000.0


def test_a_plan_as_the_checkpoint_has_it_is_not_rewritten(tmp_path, monkeypatch):
    state = {"epoch": 2, "step_in_epoch": 0, "train_time": 2.0,
             "config": {"epochs": 5, "max_time": None}}
    cfg = _caught_up(tmp_path, monkeypatch, {"epochs": 5}, state)
    assert cfg.epochs == 5 and cfg.max_time is None
