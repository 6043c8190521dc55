"""What `cnnlab design run` and `design status` print about trials, checked against what
the sweep's report says of the same trials."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cnnlab.cli.design import app

# 64 test images of the synthetic set: one image moves the error by 1.6%.
TINY = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
        "--threads", "1", "--set", "batch_size=32", "--set", "eval_subset=64", "--n", "2",
        "--train-subset", "64", "--device", "cpu"]


def test_each_trials_error_has_the_decimals_the_report_gives_it(tmp_path):
    # The line said "error 90.62%" where the report, from the same 64 test images,
    # said 90.6: a second decimal those images cannot hold.
    out = tmp_path / "sweep"
    result = CliRunner().invoke(app, ["run", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    errors = re.findall(r"trial \d: error (\d+\.\d+)%", result.output)
    assert len(errors) == 2 and all(len(e.split(".")[1]) == 1 for e in errors), result.output
    status = CliRunner().invoke(app, ["status", str(out)])
    assert re.search(r"best so far: trial \d, error \d+\.\d%", status.output), status.output


class _StoppedAtOnce:
    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        raise KeyboardInterrupt

    def close(self, cancel=False):
        pass


@pytest.mark.parametrize("how, words", [
    ({"workers": 2}, "--workers 2 --threads 1"),
    ({"executor": "ray", "address": "head:6379"},
     "--executor ray --address head:6379 --threads 1")])
def test_the_command_to_continue_runs_the_sweep_as_it_ran(tmp_path, monkeypatch, how, words):
    # A `--workers 2` sweep, stopped, said "Continue with: cnnlab design run --resume DIR
    # --threads 1": run as printed it went on with one worker, at half the speed, unsaid.
    # `design status` said the same, and named this machine for a Ray cluster's sweep.
    from design_helpers import shaped_spec

    from cnnlab.design import runner
    from cnnlab.design.store import TrialStore

    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: _StoppedAtOnce())
    monkeypatch.setattr(runner, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    with pytest.raises(runner.SweepInterrupted) as stopped:
        runner.run_sweep(tmp_path, **how)
    command = f"cnnlab design run --resume {tmp_path} {words}"
    assert str(stopped.value).endswith(command)
    status = CliRunner().invoke(app, ["status", str(tmp_path)])
    assert f"finish it with: {command}" in " ".join(status.output.split()), status.output


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--lr", "-1"),
                                         ("--batch-size", "0")])
def test_a_bad_recipe_value_is_named_by_its_flag(tmp_path, flag, value):
    # "invalid value for batch_size: 0": the field's name, where `cnnlab train` names the
    # flag the user typed.
    result = CliRunner().invoke(app, ["run", "--space", "anynetx_a", "--data", "synthetic",
                                      "--device", "cpu", flag, value, "--out",
                                      str(tmp_path / "s")])
    assert result.exit_code == 2
    assert f"{flag} {value}: allowed: " in " ".join(result.output.split()), result.output
    assert not (tmp_path / "s").exists()


def test_the_command_to_retry_failed_trials_keeps_the_thread_count(tmp_path, monkeypatch):
    # "train them again with: cnnlab design run --resume DIR --retry-failed": run so, the
    # retried trials trained with every core's thread, not the sweep's one (warned).
    import cnnlab.design.executors as executors

    monkeypatch.setattr(executors, "run_trial", lambda task: {
        "id": task["id"], "status": "failed", "message": "RuntimeError: boom",
        "worker": "here", "wall_time_s": 0.0})
    out = tmp_path / "s"
    result = CliRunner().invoke(app, ["run", *TINY, "--out", str(out)])
    said = " ".join(result.output.split())
    assert f"train them again with: cnnlab design run --resume {out} --threads 1 " \
           "--retry-failed" in said, result.output
