"""An executor that gives up mid-sweep (a Ray cluster's nodes gone) stops the sweep saying
how to continue once that is fixed: from Python (a notebook), with run_sweep(...) as well
as the command, as a sweep stopped by Ctrl-C already says; the command line gets its
command alone."""

from __future__ import annotations

import pytest
from design_helpers import tiny_spec

import cnnlab.design.runner as runner
import cnnlab.train.machine as machine
from cnnlab.design.executors import SweepFailure
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import TrialStore


class _GivesUpPool:
    """One slot on CPUs; its first wait fails as a cluster that lost its nodes does."""

    capacity, threads, gpus, name = 1, 1, 0, "fake x1"

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        raise SweepFailure("the Ray cluster has lost the nodes that could run this sweep")

    def close(self, cancel=False):
        pass


def _stopped_words(tmp_path, monkeypatch, from_the_command: bool) -> str:
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: _GivesUpPool())
    monkeypatch.setattr(machine, "cnnlab_program", lambda: from_the_command)
    with pytest.raises(SweepFailure) as stopped:
        run_sweep(tmp_path / "s", executor="ray", address="head:6379", workers=2,
                  on_result=lambda row: None)
    with TrialStore(tmp_path / "s") as store:  # nothing charged: both resume as they were
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2
    return str(stopped.value)


def test_python_callers_are_told_run_sweep_when_the_executor_gives_up(tmp_path,
                                                                      monkeypatch):
    # It named only `cnnlab design run --resume DIR ...`, a shell command, in a notebook.
    said = _stopped_words(tmp_path, monkeypatch, from_the_command=False)
    directory = tmp_path / "s"
    assert said.startswith("the Ray cluster has lost the nodes")
    assert said.endswith(
        f"continue with: cnnlab design run --resume {directory} --executor ray --address "
        f"head:6379 --workers 2 --threads 1 (from Python: run_sweep({str(directory)!r}, "
        "executor='ray', address='head:6379', workers=2, threads=1))"), said


def test_the_command_line_is_told_its_command_alone(tmp_path, monkeypatch):
    said = _stopped_words(tmp_path, monkeypatch, from_the_command=True)
    assert said.endswith(f"continue with: cnnlab design run --resume {tmp_path / 's'} "
                         "--executor ray --address head:6379 --workers 2 --threads 1"), said
