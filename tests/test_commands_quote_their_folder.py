"""The commands a finished run's refusal and a sweep's last line give quote the folder for
this platform's shell, as `cnnlab resume RUN` does: `cnnlab eval /tmp/my runs/x` named
two arguments, and on Windows a path with a space broke as well."""

from __future__ import annotations

import shlex
import shutil
import sys

import pytest
from typer.testing import CliRunner

from cnnlab.cli.design import app as design_app
from cnnlab.design import runner
from cnnlab.train import resume
from cnnlab.train.resume_checks import RunFinished


def test_a_finished_runs_refusal_names_eval_with_its_folder_quoted(tiny_run, tmp_path):
    run = tmp_path / "my runs" / "tiny"
    shutil.copytree(tiny_run, run)
    with pytest.raises(RunFinished) as refused:
        resume(run)
    assert f"cnnlab eval {shlex.quote(str(run))} (evaluate_run)" in str(refused.value)


def test_on_windows_the_folder_is_double_quoted(tiny_run, tmp_path, monkeypatch):
    run = tmp_path / "my runs" / "tiny"
    shutil.copytree(tiny_run, run)
    monkeypatch.setattr(sys, "platform", "win32")  # shell_quote's: cmd.exe and PowerShell
    with pytest.raises(RunFinished) as refused:
        resume(run)
    assert f'cnnlab eval "{run}" (evaluate_run)' in str(refused.value)


def test_a_sweeps_last_line_names_analyze_with_its_folder_quoted(tmp_path, monkeypatch):
    from design_helpers import tiny_spec

    sweep = tmp_path / "my sweeps" / "a"
    runner.create_sweep(sweep, tiny_spec(), 1)
    monkeypatch.setattr(runner, "run_sweep", lambda *a, **k: {"done": 1, "failed": 0})
    result = CliRunner().invoke(design_app, ["run", "--resume", str(sweep)])
    said = " ".join(result.output.split())
    assert f"Analyse with: cnnlab design analyze {shlex.quote(str(sweep))}" in said, said
