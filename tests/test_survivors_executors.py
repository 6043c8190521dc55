"""The local executor hands trials to worker processes whenever it has more than one
slot, and trains in the driver only with one.

Mutation testing (session 38, mutant E06: `capacity <= 2` trains in-process) found only
the slow test_worker_processes_match_in_process (about 25 s) able to see two workers
train one after another in the driver: half the speed, the same numbers.
"""

from __future__ import annotations

from concurrent.futures import Future

import pytest

import cnnlab.design.executors as executors
from cnnlab.design.executors import LocalExecutor


class _Pool:
    """Stands for the ProcessPoolExecutor: takes each trial, runs none."""

    def __init__(self):
        self.tasks = []

    def submit(self, fn, task):
        self.tasks.append(task)
        return Future()  # a worker's trial: not done when submit returns


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_trials_go_to_worker_processes_unless_there_is_one_slot(monkeypatch, workers):
    trained_here, pool = [], _Pool()
    monkeypatch.setattr(executors, "run_trial", lambda task: trained_here.append(task) or {})
    local = LocalExecutor(workers=workers, threads=1, device="cpu")
    monkeypatch.setattr(local, "_start", lambda: pool)
    futures = [local.submit({"id": i, "code": None}) for i in range(workers)]
    if workers == 1:
        assert [t["id"] for t in trained_here] == [0] and futures[0].done()
        assert pool.tasks == []
    else:
        assert trained_here == [] and not any(f.done() for f in futures)
        assert [t["id"] for t in pool.tasks] == list(range(workers))
