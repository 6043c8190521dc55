"""`cnnlab resume` and `cnnlab eval` of a folder that does not exist say that alone: the
busy-CPU note on threads came first, about a session that would never train; and eval's
refusal under torchrun quotes the run's folder in the command it gives."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()


@pytest.fixture
def busy_two_cores(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0), raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # a fresh process's pool on 2 cores
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("busy_two_cores")
@pytest.mark.parametrize("command", ["resume", "eval"])
@pytest.mark.parametrize("made", [False, True])  # no folder; a folder that is no run
def test_a_missing_run_gets_its_error_alone(tmp_path, command, made):
    run = tmp_path / "no such run"
    if made:
        run.mkdir()
    result = runner.invoke(app, [command, str(run), "--device", "cpu"])
    said = " ".join(result.stderr.split())
    assert result.exit_code != 0 and str(run) in said, said
    assert "busy" not in said and "--threads" not in said, said


def test_evals_refusal_under_torchrun_quotes_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    run = tmp_path / "my run"
    result = runner.invoke(app, ["eval", str(run)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2 and f"cnnlab eval '{run}'" in said, said
