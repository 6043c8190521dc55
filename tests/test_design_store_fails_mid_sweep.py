"""A sweep whose store fails mid-sweep (locked past the wait, a full disk, removed) ends
with that error and how to go on: the cleanup met the store again, and its error (after a
second wait for the lock) replaced the sweep's, losing the "continue with" line."""

from __future__ import annotations

import sqlite3

import pytest
from design_helpers import shaped_spec

import cnnlab.design.runner as runner_module
from cnnlab.design import store as store_module
from cnnlab.design.store import StoreError, TrialStore


class _LockingPool:
    """One trial at a time, whose result comes back while another connection holds the
    store (as another process writing it would)."""

    capacity, threads, gpus, name = 1, 1, 0, "fake"

    def __init__(self, directory):
        self.directory, self.closed = directory, None

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        self.holder = sqlite3.connect(self.directory / store_module.DB_NAME,
                                      isolation_level=None)
        self.holder.execute("BEGIN IMMEDIATE")
        return [(h, {"id": h, "status": "done", "error_pct": 50.0, "test_acc": 0.5,
                     "best_test_acc": 0.5, "train_time_s": 1.0, "epochs": 1})
                for h in handles]

    def close(self, cancel=False):
        self.closed = cancel


def test_a_store_locked_mid_sweep_says_how_to_go_on_once(tmp_path, monkeypatch):
    directory = tmp_path / "sweep"
    with TrialStore(directory, create=True) as store:
        store.init_sweep(shaped_spec(), 2)
    pool = _LockingPool(directory)
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.05)
    monkeypatch.setattr(runner_module, "make_executor", lambda *a, **k: pool)
    monkeypatch.setattr(runner_module, "trial_data", lambda **k: None)
    put_back_waits = []  # the lock wait (ms) the cleanup's put_back runs with
    real_put_back = TrialStore.put_back

    def put_back(store, ids):
        put_back_waits.append(store.conn.execute("PRAGMA busy_timeout").fetchone()[0])
        return real_put_back(store, ids)

    monkeypatch.setattr(TrialStore, "put_back", put_back)
    with pytest.raises(StoreError) as caught:
        runner_module.run_sweep(directory)
    said = str(caught.value)
    assert "is locked by another process" in said, said
    assert "continue with: cnnlab design run --resume" in said, said
    # tried again without waiting: the lock was waited out once, the sweep's error kept
    assert put_back_waits == [0]
    assert pool.closed is not None  # the workers stopped all the same
    pool.holder.execute("ROLLBACK")
