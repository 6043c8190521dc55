"""`cnnlab resume` on a busy CPU suggests --threads 1 only where the session would take
more: a run trained with --threads 1 resumes on one thread (its config.yaml's), and
was told "--threads 1 is often steadier and faster here" all the same."""

from __future__ import annotations

import os

import torch
from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()
TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--train-subset", "64", "--eval-subset", "32", "--batch-size", "32", "--epochs", "1"]


def test_a_run_trained_on_one_thread_is_not_told_to_use_one(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    try:
        trained = runner.invoke(app, [*TRAIN, "--threads", "1", "--out-dir", str(tmp_path)])
        assert trained.exit_code == 0, trained.output
        run = next(p for p in tmp_path.iterdir() if (p / "config.yaml").is_file())
        torch.set_num_threads(2)  # a fresh process's pool on 2 cores
        resumed = runner.invoke(app, ["resume", str(run), "--epochs", "1"])
    finally:
        torch.set_num_threads(threads)
    assert resumed.exit_code == 0, resumed.output
    assert "this CPU is busy" not in resumed.stderr
