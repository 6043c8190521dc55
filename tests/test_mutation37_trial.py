"""design/trial.py, with training stood in for: what a trial's row says when training
is stopped, fails deep inside, or the node cannot load the data; the worker's name; the
data loaded once per process. Hand-mutation testing (session 40) found these unpinned."""

from __future__ import annotations

import types

import pytest
from design_helpers import tiny_spec

import cnnlab.design.runner as runner
import cnnlab.design.trial as trial
import cnnlab.train.run as train_run
from cnnlab.design.trial import run_trial, trial_data, worker_name
from cnnlab.train.outcome import TrainingInterrupted


def _task(spec=None, **changes):
    task = runner._task({"id": 3, "config": {}, "seed": 1}, spec or tiny_spec(), 1)
    return {**task, **changes}


def test_a_training_stopped_by_a_signal_is_interrupted_not_failed(monkeypatch):
    def train(cfg, **kw):
        raise TrainingInterrupted("SIGTERM stopped the run", signal_name="SIGTERM")
    monkeypatch.setattr(train_run, "train", train)
    out = run_trial(_task())
    assert out["status"] == "interrupted" and "message" not in out
    assert out["wall_time_s"] >= 0


def test_a_failure_names_the_line_that_raised_not_the_first_frame(monkeypatch):
    def deeper():
        raise RuntimeError("inner")

    def train(cfg, **kw):
        deeper()
    monkeypatch.setattr(train_run, "train", train)
    out = run_trial(_task())
    line = deeper.__code__.co_firstlineno + 1
    assert out["status"] == "failed"
    assert out["message"] == f"RuntimeError: inner (test_mutation37_trial.py:{line})"
    assert out["wall_time_s"] >= 0


def test_a_done_trial_keeps_the_trainings_own_time_and_its_wall_time(monkeypatch):
    monkeypatch.setattr(train_run, "train", lambda cfg, **kw: types.SimpleNamespace(
        final={"test_acc": 0.5, "epoch": 1}, best_test_acc=0.5, train_time_s=123.0))
    out = run_trial(_task())
    assert out["status"] == "done" and out["train_time_s"] == 123.0
    assert 0 <= out["wall_time_s"] < 123.0


def test_a_node_without_the_data_refuses_naming_where_it_looked(monkeypatch, tmp_path):
    def load(**kw):
        raise FileNotFoundError("no files")
    monkeypatch.setattr(trial, "trial_data", load)
    monkeypatch.setattr(train_run, "train", lambda *a, **k: pytest.fail("trained"))
    spec = tiny_spec(data_root=str(tmp_path / "gone"))
    out = run_trial(_task(spec))
    assert out["status"] == "refused" and out["wall_time_s"] >= 0
    assert out["message"].startswith(f"{out['worker']} cannot load the sweep's data, so it "
                                     "trained none of its trials: FileNotFoundError: no files")
    assert f"reads the data itself, from {tmp_path / 'gone'}: put" in out["message"]
    out = run_trial(_task(tiny_spec()))  # no data_root: the default places
    assert "from the places cnnlab looks by default ($CNNLAB_DATA" in out["message"]


def test_the_workers_name_carries_its_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert worker_name().endswith(":gpu1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert ":gpu" not in worker_name()


def test_a_process_loads_a_sweeps_data_once():
    trial.forget_data()
    first = trial_data("synthetic", None, 12)
    assert trial_data("synthetic", None, 12) is first
    assert first.source.endswith("(first 12 training images)")
    trial.forget_data()
    assert trial_data("synthetic", None, 12) is not first
