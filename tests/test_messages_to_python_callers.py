"""What a run's messages tell a caller from Python (a notebook, a script) to do next:
TrainConfig's fields and resume('RUN'), not only the command line's --lr and `cnnlab
resume RUN`; and a diverged run shown in a notebook cell without cnnlab's frames."""

from __future__ import annotations

import signal
import sys
import warnings

import pytest

from cnnlab.notices import SetupWarning
from cnnlab.train import TrainConfig, TrainingDiverged, TrainingInterrupted, train
from cnnlab.train.runlog import new_run_dir
from cnnlab.train.trainer import Trainer


@pytest.fixture
def from_python(monkeypatch):
    # The command's package is loaded by the CLI alone (and by tests that invoke it).
    monkeypatch.delitem(sys.modules, "cnnlab.cli", raising=False)
    monkeypatch.setattr(sys, "argv", ["/home/me/train_it.py"])


def tiny(tmp_path, **fields) -> TrainConfig:
    return TrainConfig(**{"model": "lenet_modern", "data": "synthetic", "epochs": 1,
                          "train_subset": 64, "eval_subset": 32, "batch_size": 32,
                          "device": "cpu", "quiet": True, "threads": 1,
                          "out_dir": str(tmp_path), "run_name": "r", **fields})


def test_a_diverged_run_names_trainconfig_fields_and_shows_as_one_line(tmp_path,
                                                                       from_python):
    with pytest.raises(TrainingDiverged) as caught:
        train(tiny(tmp_path, lr=1e12))
    said = str(caught.value)
    assert "Try a lower lr (now 1000000000000.0)" in said and "--" not in said
    assert "warmup_epochs" in said and "clip_grad_norm=1.0" in said and "amp='off'" in said
    assert caught.value._render_traceback_() == [f"TrainingDiverged: {said}"]


def test_the_command_line_keeps_its_options(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/venv/bin/cnnlab", "train"])
    with pytest.raises(TrainingDiverged, match=r"Try a lower --lr \(now 1e\+12\)|"
                       r"Try a lower --lr \(now 1000000000000.0\)"):
        train(tiny(tmp_path, lr=1e12))


def test_a_stopped_run_says_resume_from_python_once(tmp_path, from_python, monkeypatch):
    original = Trainer._optimizer_step

    def ctrl_c(self):  # Ctrl-C as the OS delivers it: to the handler in place
        original(self)
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

    monkeypatch.setattr(Trainer, "_optimizer_step", ctrl_c)
    with pytest.raises(TrainingInterrupted) as caught:
        train(tiny(tmp_path, epochs=2))
    run = tmp_path / "r"
    said = str(caught.value)
    assert said.endswith(f"Resume with: cnnlab resume {run} (from Python: "
                         f"resume({str(run)!r}))")
    assert caught.value._render_traceback_() == [f"TrainingInterrupted: {said}"]


def test_a_taken_run_name_names_resume_from_python(tmp_path, from_python):
    first = new_run_dir(tmp_path, "lenet_d2l", "x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new_run_dir(tmp_path, "lenet_d2l", "x")
    [told] = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    assert told.endswith(f"(`cnnlab resume {first}` continues that one; from Python: "
                         f"resume({str(first)!r}))")
