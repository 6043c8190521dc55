"""Sweeps stopped, raced and resumed: a second `cnnlab design run` into the same folder,
a driver killed outright, the report's best networks across spaces.

Trains nothing: trials are stored by hand or the sweep is refused before training.
"""

from __future__ import annotations

import fcntl

from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design import runner
from cnnlab.design.store import DB_NAME, TrialStore

COMMON = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
          "--threads", "1", "--set", "batch_size=32", "--set", "eval_subset=64", "--n", "2",
          "--train-subset", "64", "--device", "cpu"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_a_second_run_refused_by_the_first_leaves_the_first_ones_new_sweep_alone(
        tmp_path, monkeypatch):
    """Two `design run --out DIR` started together into a new folder: both see no sweep,
    one creates it, the other reopens it, and the one that then loses the lock was
    refused ... and removed the sweep as its own untrained one, from under the driver
    training it (which then failed: 'attempt to write a readonly database')."""
    out = tmp_path / "sweep"
    held = []
    real_create = runner.create_sweep

    def created_then_taken(directory, spec, n):  # the other driver locks it first
        counts = real_create(directory, spec, n)
        handle = open(out / runner.LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("otherhost:99\n")
        handle.flush()
        held.append(handle)
        return counts

    monkeypatch.setattr(runner, "create_sweep", created_then_taken)
    try:
        result = invoke("run", *COMMON, "--out", out)
        assert result.exit_code == 2 and "being trained by otherhost:99" in result.output
        assert (out / DB_NAME).is_file() and (out / runner.LOCK_NAME).is_file()
    finally:
        for handle in held:
            handle.close()
    with TrialStore(out) as store:  # whole, and the other driver's to train
        assert store.count("pending") == 2
