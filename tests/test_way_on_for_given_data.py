"""A run trained on data given to train() from Python (its data.json) can be continued
only from Python, with that data: `cnnlab resume RUN` loads the data its config names,
and refuses. Every message that says how to go on with such a run names
resume('RUN', data=...), once."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from resume_helpers import signal_after_steps, small_run

from cnnlab.train import TrainingInterrupted
from cnnlab.train.distributed import RankLost
from cnnlab.train.resumable import Resumable
from cnnlab.train.run_files import DATA_RECORD


@pytest.fixture
def from_python(monkeypatch):
    # The command's package is loaded by the CLI alone (and by tests that invoke it).
    monkeypatch.delitem(sys.modules, "cnnlab.cli", raising=False)
    monkeypatch.setattr(sys, "argv", ["/home/me/train_it.py"])


def test_a_stopped_run_of_given_data_names_resume_with_its_data_once(tmp_path, monkeypatch,
                                                                     from_python):
    # It said "Resume with: cnnlab resume RUN (from Python: resume('RUN', data=...))":
    # a command that refuses the run first.
    signal_after_steps(monkeypatch, 2)
    with pytest.raises(TrainingInterrupted) as caught:
        small_run(tmp_path, monkeypatch, epochs=2, run_name="cut")
    run = tmp_path / "cut"
    said = str(caught.value)
    assert "cnnlab resume" not in said
    assert said.endswith(f"Resume with: resume({str(run)!r}, data=...) from Python, with the "
                         "data it trained on")
    assert said.count("resume(") == 1
    assert caught.value._render_traceback_() == [f"TrainingInterrupted: {said}"]


def test_a_notebook_names_the_data_for_a_stopped_run_of_given_data(tmp_path):
    # The line under the message said resume('RUN'), which refuses such a run.
    (tmp_path / DATA_RECORD).write_text("{}", encoding="utf-8")
    stopped = TrainingInterrupted("stopped by SIGINT at epoch 1, step 2 of 4; checkpoint "
                                  "saved", run_dir=tmp_path, signal_name="SIGINT", epoch=1,
                                  step_in_epoch=2)
    assert stopped._render_traceback_()[1] == (
        f"From Python: resume({str(tmp_path)!r}, data=...) continues it (resume from "
        "cnnlab.train)")


class _Lost(Resumable):
    """A Trainer of two processes whose other rank is lost after its first epoch."""

    def __init__(self, run_dir: Path):
        self.run_dir, self.epoch, self.step_in_epoch = run_dir, 1, 5
        self.steps_per_epoch, self.resumed_from = 8, None
        self.dist = SimpleNamespace(enabled=True, world_size=2)
        self.cfg = SimpleNamespace(accum_steps=1)


def test_a_lost_rank_in_a_run_of_given_data_names_resume_with_its_data(tmp_path):
    # It said "Resume with: torchrun --nproc_per_node=2 -m cnnlab resume RUN".
    (tmp_path / DATA_RECORD).write_text("{}", encoding="utf-8")
    lost = _Lost(tmp_path)
    with pytest.raises(RankLost) as caught, lost._rank_loss_said():
        raise RuntimeError("[gloo/transport/tcp/pair.cc:545] Read error "
                           "[127.0.0.1]:29593: Connection reset by peer")
    said = str(caught.value)
    assert "cnnlab resume" not in said
    assert said.endswith(f"Resume with: resume({str(tmp_path)!r}, data=...) from Python, "
                         "with the data it trained on")
