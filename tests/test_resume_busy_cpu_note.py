"""`cnnlab resume` on a busy CPU suggests --threads 1 only where the session would take
more: a run trained with --threads 1 resumes on one thread (its config.yaml's), and
was told "--threads 1 is often steadier and faster here" all the same."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

import cnnlab.cli.train as cli_train
from cnnlab.cli import app

runner = CliRunner()


@pytest.fixture
def busy_two_cores(monkeypatch):
    """A loaded 2-core machine, and resume's work stood in for (only its note is looked
    at): what `cnnlab resume RUN` says before it trains."""
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0), raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # a fresh process's pool on 2 cores
    yield
    torch.set_num_threads(threads)


def said_on_resume(run_dir, config: str) -> str:
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(config, encoding="utf-8")
    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    return " ".join(result.stderr.split())


@pytest.mark.skipif(not hasattr(os, "getloadavg"), reason="no load average (Windows)")
def test_a_run_trained_on_one_thread_is_not_told_to_use_one(tmp_path, busy_two_cores):
    one = said_on_resume(tmp_path / "one", "model: lenet_d2l\nthreads: 1\ndevice: cpu\n")
    every_core = said_on_resume(tmp_path / "all", "model: lenet_d2l\nthreads: null\n"
                                                  "device: cpu\n")
    assert "this CPU is busy" not in one
    assert "this CPU is busy (load 9.0" in every_core  # the note itself still said


@pytest.mark.skipif(not hasattr(os, "getloadavg"), reason="no load average (Windows)")
def test_the_runs_device_decides_not_auto(tmp_path, busy_two_cores, monkeypatch):
    # On a GPU machine "auto" is CUDA, where the note says nothing; a run trained on the
    # CPU resumes there.
    import cnnlab.train.device as device

    real = device.select_device
    monkeypatch.setattr(device, "select_device", lambda name=None: real(
        "cpu" if name == "cpu" else "meta"))  # "auto" stands for a GPU: not a CPU
    said = said_on_resume(tmp_path / "run", "model: lenet_d2l\nthreads: null\ndevice: cpu\n")
    assert "this CPU is busy (load 9.0" in said
