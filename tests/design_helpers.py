"""Small sweep specs the design tests share (synthetic data, one epoch, a tiny band), a
stand-in pool whose driver is sent SIGTERM, and a script on a real local Ray of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from cnnlab.design.store import SweepSpec

TINY_TRAIN = {"epochs": 1, "batch_size": 32, "device": "cpu", "eval_subset": 64}


def tiny_spec(space: str = "anynetx_a", **kw) -> SweepSpec:
    return SweepSpec(space=space, macs=(1e5, 1e6), data="synthetic", train_subset=64,
                     train=dict(TINY_TRAIN), **kw)


def shaped_spec(**kw) -> SweepSpec:
    return SweepSpec(space="anynetx_b", macs=(1e5, 1e6), data="synthetic", image_size=28,
                     in_channels=1, num_classes=10, **kw)


class TermedPool:
    """A 2-slot pool: while it waits on its first two trials the driver gets a SIGTERM;
    with ``finish``, the trials it waited on come back done (else none come back)."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def __init__(self, finish: bool = True) -> None:
        self.finish = finish

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the handler runs here
        if not self.finish:
            return []
        return [(h, {"id": h, "status": "done", "error_pct": 50.0, "test_acc": 0.5,
                     "best_test_acc": 0.5, "train_time_s": 1.0, "epochs": 1}) for h in handles]

    def close(self, cancel=False):
        pass


def ray_script_result(script: str, *args: str, cwd, timeout: float, hung: str,
                      env: dict | None = None) -> dict:
    """Run ``script`` (which starts a local Ray of its own) in a child process and session,
    so that a hang kills Ray's processes with it, not only Python; its last ``RESULT
    {json}`` line, read. Past ``timeout`` seconds the test fails with ``hung``."""
    import pytest

    env = env or {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    child = subprocess.Popen([sys.executable, "-c", script, *args], cwd=cwd, text=True,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        output, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        pytest.fail(f"{hung}:\n{output[-3000:]}")
    results = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert results, output[-3000:]
    return json.loads(results[-1].removeprefix("RESULT "))


def kept_figures(monkeypatch) -> dict:
    """The design report's figures by file name, filled as ``analyze`` saves them (still
    written to disk), for tests that read their axes rather than their pixels."""
    import cnnlab.design.report as report

    figures = {}
    real = report.save_figure

    def keep(fig, path, *args, **kwargs):
        figures[path.name] = fig
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(report, "save_figure", keep)
    return figures
