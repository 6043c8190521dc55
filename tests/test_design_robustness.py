"""A sweep under stress: a second driver, a dead worker process, a moved dataset, an
impossible band, an unreachable Ray cluster, sweeps set up differently. Each must end in
a clear state (nothing trained twice, nothing charged wrongly, no dead-end folder) or a
clear error, never a traceback or a wrong verdict.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from design_helpers import shaped_spec, tiny_spec
from typer.testing import CliRunner

import cnnlab.train.run as training
from cnnlab.cli.design import app
from cnnlab.design.report import analyze
from cnnlab.design.runner import SweepInterrupted, create_sweep, run_sweep
from cnnlab.design.spaces import DesignSpaceError
from cnnlab.design.store import SweepError, TrialStore


def test_sweeps_set_up_differently_get_no_verdict(tmp_path):
    for name, epochs in (("one", 1), ("two", 2)):
        with TrialStore(tmp_path / name, create=True) as store:
            store.init_sweep(shaped_spec(train={"epochs": epochs}), 30)
            for i in range(30):  # 'two' is far better: a verdict would be given
                store.record(i, "done", error_pct=10.0 + i + (0 if epochs == 2 else 40),
                             test_acc=0.5, train_time_s=1.0)
    [pair] = analyze([tmp_path / "one", tmp_path / "two"], tmp_path / "r",
                     resamples=50)["pairs"]
    assert pair["verdict"] == "not comparable, trained or sampled differently: epochs 1 vs 2"
    assert pair["differences"] == ["epochs 1 vs 2"]


@pytest.fixture
def quick_to_give_up(monkeypatch):
    """The sampler gives a band up after 500 networks, not 20,000: what is left behind
    after it has is the same, and each of 20,000 is an analytic MAC count (30 s of a
    busy suite's time for each test below)."""
    from cnnlab.design import spaces

    sample = spaces.sample
    monkeypatch.setattr(spaces, "sample", lambda *args, **kw: sample(*args, **kw,
                                                                       max_tries=500))


def test_a_band_no_network_falls_in_leaves_no_file_behind(tmp_path, quick_to_give_up):
    with pytest.raises(DesignSpaceError, match="widen the band"):
        create_sweep(tmp_path / "s", replace(tiny_spec(), macs=(1.0, 2.0)), 2)
    assert not (tmp_path / "s").exists()


def test_a_band_no_network_falls_in_leaves_no_sweep_behind(tmp_path, quick_to_give_up):
    impossible = replace(shaped_spec(), macs=(1.0, 2.0))
    with TrialStore(tmp_path, create=True) as store:
        with pytest.raises(DesignSpaceError, match="widen the band"):
            store.init_sweep(impossible, 2)
        assert store.meta().get("spec") is None
        store.init_sweep(shaped_spec(), 2)  # a wider band is a new sweep, not "different"
        assert store.count() == 2


def test_a_second_driver_is_refused_while_one_trains(tmp_path):
    import fcntl

    create_sweep(tmp_path, tiny_spec(), 1)
    with open(tmp_path / ".lock", "a+", encoding="utf-8") as held:  # as a running driver holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("host:123 (pid 123)\n")
        held.flush()
        with pytest.raises(SweepError, match="being trained by host:123 .* one `cnnlab design"):
            run_sweep(tmp_path)
    assert run_sweep(tmp_path)["done"] == 1  # released: it trains


def test_a_status_looking_at_the_lock_does_not_refuse_a_driver_starting_then(tmp_path):
    # `design status` holds a shared lock for an instant: a `design run` starting then was
    # refused as "being trained by" the last driver, long gone.
    import fcntl
    import threading

    from cnnlab.design.runner import sweep_lock

    create_sweep(tmp_path, tiny_spec(), 1)
    with sweep_lock(tmp_path):  # a driver that came and went leaves its name in the file
        pass
    looking = open(tmp_path / ".lock", encoding="utf-8")  # noqa: SIM115 (closed by the timer)
    fcntl.flock(looking, fcntl.LOCK_SH)
    threading.Timer(0.1, looking.close).start()  # status's look ends: the lock goes with it
    with sweep_lock(tmp_path):
        pass


def test_a_sweep_on_a_mount_without_locks_still_trains(tmp_path, monkeypatch):
    # NFS mounted nolock: flock fails with ENOLCK, and every `design run` failed so.
    import errno
    import fcntl

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    from cnnlab import file_lock
    from cnnlab.notices import LockWarning

    create_sweep(tmp_path, tiny_spec(), 1)
    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(file_lock, "_SAID", set())  # said here, whatever ran before
    with pytest.warns(LockWarning, match="is driven unguarded"):
        assert run_sweep(tmp_path)["done"] == 1


def test_resume_with_the_datas_new_folder_uses_it_and_missing_data_fails_once(
        tmp_path, monkeypatch):
    from cnnlab.data import DataError

    spec = replace(tiny_spec(), data="fashion-mnist", data_root=str(tmp_path / "gone"),
                   image_size=28, in_channels=1, num_classes=10)
    with TrialStore(tmp_path / "s", create=True) as store:
        store.init_sweep(spec, 2)
    with pytest.raises(DataError, match="gone"):  # before any trial: none stored failed
        run_sweep(tmp_path / "s")
    with TrialStore(tmp_path / "s") as store:
        assert store.counts()["failed"] == 0 and store.counts()["pending"] == 2
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path / "s"),
                                             "--data-root", str(tmp_path / "here"), "-n", "2"])
    assert f"{tmp_path / 'here'} (given path): does not exist" in " ".join(
        result.output.split())  # the new folder is where it looked
    assert result.exit_code == 1  # could not do its work, as train and speedrun say it
    with TrialStore(tmp_path / "s") as store:
        assert store.spec().data_root == str(tmp_path / "here")
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path / "s"),
                                             "--seed", "3"])
    assert result.exit_code == 2 and "drop --seed" in result.output


def test_an_unreachable_ray_address_is_named_at_once():
    from cnnlab.design.executors import _check_reachable

    with socket.socket() as s:  # a port nothing listens on: bound, so none can take it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(SweepError, match=f"cannot reach the Ray cluster at "
                                             f"127.0.0.1:{port}"):
            _check_reachable(f"127.0.0.1:{port}", timeout_s=2)
    _check_reachable("auto")  # Ray's own words, left to Ray
    if socket.has_ipv6:
        try:
            listening = socket.socket(socket.AF_INET6)
            listening.bind(("::1", 0))
        except OSError:  # no IPv6 loopback on this machine
            return
        with listening:
            listening.listen()
            # A reachable IPv6 head is reachable: "[::1]" was resolved brackets and all.
            _check_reachable(f"[::1]:{listening.getsockname()[1]}", timeout_s=2)


class _BreakingPool:
    """A 2-slot local pool whose first batch dies together, as one killed worker process
    breaks a ProcessPoolExecutor; after that every trial finishes."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def __init__(self):
        self.broken_once, self.batches = False, []

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        from concurrent.futures.process import BrokenProcessPool

        self.batches.append(sorted(handles))
        if not self.broken_once and len(handles) == 2:
            self.broken_once = True
            return [(h, BrokenProcessPool("a child process terminated abruptly")) for h in handles]
        h = handles[0]
        return [(h, {"id": h, "status": "done", "error_pct": 50.0, "test_acc": 0.5,
                     "best_test_acc": 0.5, "train_time_s": 1.0, "epochs": 1})]

    def close(self, cancel=False):
        pass


def test_one_dead_worker_charges_no_trial_and_the_suspects_run_alone(tmp_path, monkeypatch):
    import cnnlab.design.runner as runner_mod

    pool = _BreakingPool()
    monkeypatch.setattr(runner_mod, "make_executor", lambda *a, **k: pool)
    monkeypatch.setattr(runner_mod, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)
    assert run_sweep(tmp_path)["done"] == 3
    assert pool.batches[0] == [0, 1]  # broke together
    assert pool.batches[1:3] == [[0], [1]]  # then each by itself
    with TrialStore(tmp_path) as store:
        assert [t["attempts"] for t in store.trials()] == [1, 1, 1]


class _TogetherPool:
    """A 2-slot pool whose trials finish two at a time."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        return [(h, {"id": h, "status": "done", "error_pct": 50.0, "test_acc": 0.5,
                     "best_test_acc": 0.5, "train_time_s": 1.0, "epochs": 1})
                for h in handles]

    def close(self, cancel=False):
        pass


def test_a_sweep_stopped_by_an_error_charges_no_trial_it_left_unfinished(
        tmp_path, monkeypatch):
    import cnnlab.design.runner as runner_mod

    monkeypatch.setattr(runner_mod, "make_executor", lambda *a, **k: _TogetherPool())
    monkeypatch.setattr(runner_mod, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)

    def report(row):  # `cnnlab design run ... | head`: the pipe closed
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        run_sweep(tmp_path, on_result=report)
    with TrialStore(tmp_path) as store:
        # Trial 0 was stored, then the sweep stopped; trial 1 had finished beside it, its
        # outcome not stored yet: neither it nor trial 2 was tried, neither is charged,
        # and none is left 'running'.
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [
            ("done", 1), ("pending", 0), ("pending", 0)]


def test_workers_are_closed_though_the_store_cannot_be_written_any_more(
        tmp_path, monkeypatch):
    import sqlite3

    import cnnlab.design.runner as runner_mod

    closed = []

    class _Pool(_TogetherPool):
        def wait(self, handles):
            raise KeyboardInterrupt  # Ctrl-C with trials in flight

        def close(self, cancel=False):
            closed.append(cancel)

    monkeypatch.setattr(runner_mod, "make_executor", lambda *a, **k: _Pool())
    monkeypatch.setattr(runner_mod, "trial_data", lambda **k: None)
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(), 3)

    def disk_full(self, ids):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(TrialStore, "put_back", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        run_sweep(tmp_path)
    assert closed == [True]  # the workers were stopped, not left training


def test_a_broken_pool_is_reported_whole_though_its_futures_fail_one_by_one():
    import threading
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from cnnlab.design.executors import LocalExecutor

    first, second = Future(), Future()
    first.set_exception(BrokenProcessPool("a child process terminated abruptly"))
    threading.Timer(0.2, second.set_exception, [BrokenProcessPool("same pool")]).start()
    out = LocalExecutor(workers=2, threads=1).wait([first, second])
    assert {f for f, _ in out} == {first, second}
    assert all(isinstance(o, BrokenProcessPool) for _, o in out)


def test_a_new_store_is_never_seen_empty_by_another_reader(tmp_path, monkeypatch):
    # sqlite3.connect makes a 0-byte file and writes the schema milliseconds later: a
    # reader meanwhile (`design status`, a script watching the sweep) was told it "is
    # empty: not a sweep" (the killed-sweep test failed so about 1 run in 20). Each
    # connection the store makes is watched: the store's real name is absent or whole.
    import sqlite3
    from types import SimpleNamespace

    import cnnlab.design.store as store_module

    path, seen = tmp_path / "sweep" / "trials.sqlite", []

    def watched_connect(*args, **kwargs):
        conn = sqlite3.connect(*args, **kwargs)
        seen.append(path.stat().st_size if path.exists() else None)
        return conn

    monkeypatch.setattr(store_module, "sqlite3",
                        SimpleNamespace(**{**vars(sqlite3), "connect": watched_connect}))
    with TrialStore(tmp_path / "sweep", create=True) as store:
        store.set_meta({"n": 1})
    assert seen and all(size is None or size > 0 for size in seen), seen
    with TrialStore(tmp_path / "sweep") as store:  # and it is the sweep, not a copy
        assert store.meta()["n"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["trials.sqlite"]


def test_more_workers_than_windows_allows_are_refused_before_the_sweep(monkeypatch):
    # Python's process pool takes at most 61 workers on Windows; its ValueError came at
    # the first trial, after a new sweep had been created. check_executor (the CLI's,
    # before any sweep is made) and the executor itself refuse them.
    from cnnlab.design import executors

    monkeypatch.setattr(executors.sys, "platform", "win32")
    for refuse in (lambda: executors.check_executor("local", workers=62),
                   lambda: executors.LocalExecutor(workers=62, device="cpu")):
        with pytest.raises(SweepError, match="--workers 61 or fewer"):
            refuse()
    executors.check_executor("local", workers=61)
    assert executors.LocalExecutor(workers=61, device="cpu").capacity == 61


def test_a_thread_count_set_in_the_recipe_is_the_one_recorded(tmp_path, monkeypatch):
    # --set threads=1 is what the trials' Trainer uses, whatever --threads says: recorded
    # as --threads was, runs with other --threads had been warned of a change never made.
    import warnings

    monkeypatch.setattr(training, "train", lambda cfg, **kw: (_ for _ in ()).throw(
        KeyboardInterrupt))
    spec = tiny_spec()
    spec.train["threads"] = 1
    create_sweep(tmp_path, spec, 2)
    for threads in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning of another count
            with pytest.raises(SweepInterrupted) as info:
                run_sweep(tmp_path, threads=threads)
        assert "--threads" not in str(info.value)  # the recipe's count holds anyway
    with TrialStore(tmp_path) as store:
        assert store.meta()["threads"] == 1
