"""The sweep driver's bookkeeping, with training stood in for (no network trains): each
trial trained once with its own seed, a resume that restarts the killed driver's trials
and skips the done ones, failures stored as such, the pool kept at its size, threads per
worker, the lock held while trials train, the spec compared on resume, the progress line.
Mutation testing (session 38) found each of these unguarded by a fast test."""

from __future__ import annotations

import types
from concurrent.futures.process import BrokenProcessPool

import pytest
import torch
from design_helpers import tiny_spec

import cnnlab.design.executors as executors
import cnnlab.design.runner as runner
import cnnlab.train.run as train_run
from cnnlab.design.executors import LocalExecutor, SweepFailure, fits_the_cores
from cnnlab.design.runner import SweepInterrupted, create_sweep, resume_command, run_sweep
from cnnlab.design.store import SweepError, SweepSpec, TrialStore
from cnnlab.design.sweep_lock import sweep_driver, sweep_lock
from cnnlab.design.sweep_progress import SweepLine
from cnnlab.design.sweep_spec import check_train_fields, plan_trials, sweep_identity
from cnnlab.design.trial import run_trial, trial_data, worker_name


def _fake_train(seen: list, fail_seed=None, stop_seed=None, extra=None):
    """train() as run_trial calls it, recording each trial's seed (and ``extra(cfg)``)."""
    def train(cfg, **kw):
        seen.append(cfg.seed if extra is None else (cfg.seed, extra(cfg)))
        if cfg.seed == fail_seed:
            raise RuntimeError(f"boom at seed {cfg.seed}")
        if cfg.seed == stop_seed:
            raise KeyboardInterrupt
        return types.SimpleNamespace(final={"test_acc": 0.75, "epoch": 3},
                                     best_test_acc=0.8, train_time_s=0.01)
    return train


class _Pool:
    """An in-process pool of ``capacity`` slots that runs each trial when waited on,
    one at a time; ``lost``: trial ids whose first try comes back lost."""

    threads, gpus, name = 1, 0, "fake"

    def __init__(self, capacity=2, lost=()):
        self.capacity, self.lost, self.pending, self.most = capacity, set(lost), [], 0

    def submit(self, task):
        self.pending.append(task)
        self.most = max(self.most, len(self.pending))
        return task["id"]

    def wait(self, handles):
        task = self.pending.pop(0)
        if task["id"] in self.lost:
            self.lost.discard(task["id"])
            return [(task["id"], BrokenProcessPool("lost"))]
        return [(task["id"], run_trial(dict(task, code=None)))]

    def close(self, cancel=False):
        pass


def _sweep(tmp_path, monkeypatch, n=3, pool=None, **kw):
    create_sweep(tmp_path, tiny_spec(**kw), n)
    if pool is not None:
        monkeypatch.setattr(runner, "make_executor", lambda *a, **k: pool)


def test_each_trial_trains_once_with_its_own_seed(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(train_run, "train", _fake_train(seen))
    _sweep(tmp_path, monkeypatch, seed=5)
    rows = []
    assert run_sweep(tmp_path, threads=1, on_result=rows.append)["done"] == 3
    assert sorted(seen) == [5, 6, 7]
    assert [(r["id"], r["status"], r["seed"]) for r in rows] == [
        (0, "done", 5), (1, "done", 6), (2, "done", 7)]
    assert run_sweep(tmp_path, threads=1)["done"] == 3 and len(seen) == 3  # nothing again


def test_a_resume_restarts_a_killed_drivers_trials_and_skips_done_ones(tmp_path,
                                                                        monkeypatch):
    seen = []
    monkeypatch.setattr(train_run, "train", _fake_train(seen))
    _sweep(tmp_path, monkeypatch)
    with TrialStore(tmp_path) as store:  # a driver killed with trial 0 done, 1 running
        store.mark_running(0, "w")
        store.record(0, "done", error_pct=10.0, test_acc=0.9)
        store.mark_running(1, "w")
    assert run_sweep(tmp_path, threads=1) == {"pending": 0, "running": 0, "done": 3,
                                              "failed": 0}
    assert sorted(seen) == [1, 2]


def test_a_failed_trial_is_stored_failed_and_a_stopped_one_pending(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(train_run, "train", _fake_train(seen, fail_seed=0, stop_seed=1))
    _sweep(tmp_path, monkeypatch)
    with pytest.raises(SweepInterrupted, match="1 of 3 trials finished"):
        run_sweep(tmp_path, threads=1)
    assert seen == [0, 1]  # the Ctrl-C stopped the sweep: trial 2 never started
    with TrialStore(tmp_path) as store:
        assert [t["status"] for t in store.trials()] == ["failed", "pending", "pending"]
        assert store.trial(0)["message"].startswith("RuntimeError: boom at seed 0")
        assert store.trial(0)["error_pct"] is None and store.trial(1)["attempts"] == 0


def test_a_trial_records_what_its_training_measured(monkeypatch):
    seen = []
    monkeypatch.setattr(train_run, "train", _fake_train(
        seen, extra=lambda cfg: torch.get_num_threads()))
    threads = torch.get_num_threads()
    task = runner._task({"id": 4, "config": {}, "seed": 9}, tiny_spec(), threads + 1)
    out = run_trial(task)
    assert seen == [(9, threads + 1)] and torch.get_num_threads() == threads
    assert (out["status"], out["error_pct"], out["test_acc"], out["best_test_acc"],
            out["epochs"]) == ("done", pytest.approx(25.0), 0.75, 0.8, 3)


def test_the_pool_is_kept_at_its_size_and_a_lost_trial_runs_again(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(train_run, "train", _fake_train(seen))
    pool = _Pool(capacity=2, lost={0})
    _sweep(tmp_path, monkeypatch, n=4, pool=pool)
    assert run_sweep(tmp_path)["done"] == 4
    assert pool.most == 2 and sorted(seen) == [0, 1, 2, 3]
    with TrialStore(tmp_path) as store:
        assert store.trial(0)["attempts"] == 2 and store.trial(1)["attempts"] == 1


def test_a_trial_refused_by_its_worker_stops_the_sweep(tmp_path, monkeypatch):
    pool = _Pool(capacity=1)
    pool.wait = lambda handles: [(pool.pending.pop(0)["id"], {
        "id": 0, "status": "refused", "message": "node-b runs other code"})]
    _sweep(tmp_path, monkeypatch, n=2, pool=pool)
    with pytest.raises(SweepFailure, match="node-b runs other code"):
        run_sweep(tmp_path)
    with TrialStore(tmp_path) as store:
        assert store.counts()["pending"] == 2


def test_the_sweeps_lock_is_held_while_its_trials_train(tmp_path, monkeypatch):
    holders = []
    monkeypatch.setattr(train_run, "train", _fake_train(
        [], extra=lambda cfg: holders.append(sweep_driver(tmp_path))))
    _sweep(tmp_path, monkeypatch, n=1)
    assert sweep_driver(tmp_path) is None
    run_sweep(tmp_path, threads=1)
    assert holders == [worker_name()] and sweep_driver(tmp_path) is None


def test_the_lock_is_taken_again_by_its_holder(tmp_path, monkeypatch):
    # The CLI holds it around reopening and running the sweep; run_sweep takes it too.
    monkeypatch.setattr(train_run, "train", _fake_train([]))
    _sweep(tmp_path, monkeypatch, n=1)
    with sweep_lock(tmp_path):
        assert run_sweep(tmp_path, threads=1)["done"] == 1
        assert sweep_driver(tmp_path) == worker_name()
    assert sweep_driver(tmp_path) is None


def test_workers_share_the_cores_and_the_resume_command_keeps_them(monkeypatch):
    monkeypatch.setattr(executors, "_cores", lambda: 8)
    pool = LocalExecutor(workers=2, device="cpu")
    assert (pool.capacity, pool.threads) == (2, 4)
    assert LocalExecutor(device="cpu").capacity == 1
    assert fits_the_cores(4, 2) and not fits_the_cores(3, 3) and not fits_the_cores(9, None)
    assert resume_command("s", "local", None, threads=4, workers=2).endswith(
        "--resume s --workers 2 --threads 4")


def test_a_sweep_is_told_apart_by_what_decides_its_trials():
    base = SweepSpec(space="anynetx_a", data="synthetic", train={"lr": 0.1})
    same = [SweepSpec(space="anynetx_a", data="synthetic", train={"lr": 0.1, "device": "cpu"},
                      data_root="/elsewhere")]
    other = [SweepSpec(space="anynetx_a", data="synthetic", train={"lr": 0.2}),
             SweepSpec(space="anynetx_a", data="synthetic", seed=1, train={"lr": 0.1}),
             SweepSpec(space="anynetx_a", data="fashion-mnist", train={"lr": 0.1}),
             SweepSpec(space="anynetx_b", data="synthetic", train={"lr": 0.1})]
    ident = sweep_identity(base.to_dict())
    assert all(sweep_identity(s.to_dict()) == ident for s in same)
    assert all(sweep_identity(s.to_dict()) != ident for s in other)


def test_a_sweep_reopened_with_another_seed_is_refused(tmp_path):
    create_sweep(tmp_path, tiny_spec(), 1)
    with pytest.raises(SweepError, match="seed: stored 0, asked 1"):
        create_sweep(tmp_path, tiny_spec(seed=1), 1)


def test_the_training_subset_is_cut_per_size():
    assert len(trial_data("synthetic", None, 10).train) == 10
    assert len(trial_data("synthetic", None, 20).train) == 20


def test_the_progress_line_counts_finished_trials():
    shown = []
    line = types.SimpleNamespace(show=shown.append)
    sweep = SweepLine(line, "s", {"pending": 2, "done": 1, "failed": 1}, 2)
    assert shown[-1].startswith("sweep s: 2/4 trials finished (1 done, 1 failed); "
                                "training 2 at a time")
    sweep({"id": 2, "status": "failed"})
    assert "3/4 trials finished (1 done, 2 failed); last trial 2: failed" in shown[-1]
    sweep({"id": 3, "status": "done", "error_pct": 12.5})
    assert "4/4 trials finished (2 done, 2 failed); last trial 3: 12.5% error" in shown[-1]


def test_trials_are_drawn_apart_and_train_with_the_sweeps_recipe():
    spec = SweepSpec(space="anynetx_a", data="synthetic", image_size=28, in_channels=1,
                     num_classes=10, train={"lr": 0.2, "epochs": 1})
    rows = plan_trials(spec, 0, 4)
    assert len({repr(r["sample"]) for r in rows}) == 4  # each its own draw, not trial 0's
    cfg = spec.train_config(rows[1]["config"], rows[1]["seed"])
    assert (cfg["lr"], cfg["epochs"], cfg["momentum"], cfg["seed"]) == (0.2, 1, 0.9, 1)
    with pytest.raises(SweepError, match="seed .trial i trains with seed"):
        check_train_fields({"lr": 0.1, "seed": 3})
