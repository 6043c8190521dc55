"""A second Ctrl-C while a stopped sweep cleans up (an impatient user presses it twice):
the trials it stopped still go back to 'pending' uncharged, its workers are still
stopped, and it still ends as an interrupted sweep, not a traceback.

Trains nothing: a fake pool stands for the workers. Ctrl-C is sent as Python takes it."""

from __future__ import annotations

import signal

import pytest
from design_helpers import shaped_spec

from cnnlab.design import runner
from cnnlab.design.store import TrialStore


def ctrl_c():
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)


class _StoppedPool:
    """Two trials in flight when the first Ctrl-C comes; ``on_close`` runs as it stops."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def __init__(self, on_close=lambda: None):
        self.on_close, self.closed = on_close, []

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        ctrl_c()  # the first one, while the driver waits on its workers
        pytest.fail("Ctrl-C did not stop the sweep")

    def close(self, cancel=False):
        self.on_close()
        self.closed.append(cancel)  # reached only if the whole close ran


def sweep(tmp_path, monkeypatch, pool):
    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: pool)
    monkeypatch.setattr(runner, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    try:
        with pytest.raises(runner.SweepInterrupted, match="sweep stopped with 0 of 3 trials"):
            runner.run_sweep(tmp_path)
    except KeyboardInterrupt:  # uncaught, it would end the test session
        pytest.fail("the sweep ended in a bare KeyboardInterrupt, not SweepInterrupted")
    with TrialStore(tmp_path) as store:
        return [(t["status"], t["attempts"]) for t in store.trials()]


def test_a_second_ctrl_c_as_trials_are_put_back_charges_none(tmp_path, monkeypatch,
                                                             pythons_ctrl_c):
    # It cut the cleanup short: trials 0 and 1 stayed 'running' with their attempt
    # charged (the next run resets them, keeping it: a worker death then failed them
    # without their retry), and a sqlite traceback ("cannot rollback") ended the sweep.
    looked = TrialStore.trials

    def trials(self, status=None):
        if status == "running":
            ctrl_c()
        return looked(self, status)

    monkeypatch.setattr(TrialStore, "trials", trials)
    pool = _StoppedPool()
    assert sweep(tmp_path, monkeypatch, pool) == [("pending", 0)] * 3
    assert pool.closed == [True]


def test_a_second_ctrl_c_as_the_workers_stop_still_stops_them(tmp_path, monkeypatch,
                                                              pythons_ctrl_c, capsys):
    # It ended close() before the workers that outlive their SIGTERM were killed, and
    # the sweep ended in a bare KeyboardInterrupt, not "interrupted: ... Continue with".
    pool = _StoppedPool(on_close=ctrl_c)
    assert sweep(tmp_path, monkeypatch, pool) == [("pending", 0)] * 3
    assert pool.closed == [True]
    # Held, and said so: a user who met silence could only kill it (review-diff2 U3).
    assert "Ctrl-C: putting unfinished trials back and stopping the workers first" in \
        capsys.readouterr().err


def test_a_ctrl_c_as_a_write_commits_is_not_a_rollback_error(tmp_path, monkeypatch):
    # Python raises a signal's KeyboardInterrupt once the statement returns: after a
    # COMMIT that happened, the ROLLBACK then failed ("no transaction is active") and
    # that error replaced the interrupt.
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 1)
        real = store.conn

        class Interrupted:  # the connection, with Ctrl-C arriving during COMMIT
            def __getattr__(self, name):
                return getattr(real, name)

            def execute(self, sql, *args):
                out = real.execute(sql, *args)
                if sql == "COMMIT":
                    raise KeyboardInterrupt
                return out

        store.conn = Interrupted()
        with pytest.raises(KeyboardInterrupt):
            store.mark_pending([0])
        store.conn = real
        store.mark_running(0)
        with pytest.raises(KeyboardInterrupt):
            store.conn = Interrupted()
            store.mark_pending([0])
        store.conn = real
        assert store.trial(0)["status"] == "pending"  # written whole
