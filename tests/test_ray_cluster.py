"""A sweep on a Ray cluster of several nodes: what one node lacks stops the sweep, named.

Each node reads the sweep's data from its own disk, at the driver's path; a node without
it failed every trial it was given, one after another, each stored 'failed' as if its
network were at fault. A fake Ray here runs each trial at once, as that node would.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from design_helpers import tiny_spec
from test_design_ray import DONE, FakeRay, node

import cnnlab.design.executors as executors
import cnnlab.design.trial as trial
from cnnlab.design.runner import _task, create_sweep, run_sweep
from cnnlab.design.store import SweepError, TrialStore
from cnnlab.notices import SetupWarning


def _a_task(tmp_path, data: dict) -> dict:
    create_sweep(tmp_path / "s", tiny_spec(), 1)
    with TrialStore(tmp_path / "s") as store:
        task = _task(store.trials()[0], store.spec(), 1)
    return {**task, "data": data}


def test_a_node_without_the_data_refuses_the_trial_naming_itself_and_the_place(tmp_path):
    missing = str(tmp_path / "only-on-the-head")  # the driver's --data-root
    task = _a_task(tmp_path, {"data": "fashion-mnist", "data_root": missing,
                              "train_subset": None, "resize": None})
    out = trial.run_trial(task)
    assert out["status"] == "refused"  # untrained, not 'failed': the node's, not the net's
    assert out["message"].startswith(f"{out['worker']} cannot load the sweep's data, so it "
                                     "trained none of its trials: DatasetNotFoundError")
    assert f"reads the data itself, from {missing}: put the same files there on every " \
           "node" in out["message"]
    assert "error_pct" not in out


class _Ref:
    def __init__(self, result):
        self.result = result


class _NodesRay(FakeRay):
    """Ray as a cluster runs each trial: at once, on a node whose disk is its own."""

    def remote(self, **options):
        return lambda fn: SimpleNamespace(remote=lambda task: _Ref(fn(task)))

    def wait(self, handles, num_returns=1, timeout=None):
        return handles[:1], handles[1:]

    def get(self, ref):
        return ref.result


def test_a_node_without_the_data_stops_the_sweep_with_its_trials_pending(
        tmp_path, monkeypatch):
    create_sweep(tmp_path / "s", tiny_spec(), 3)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = _NodesRay([node(1), node(1)])
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)

    def not_here(**data):  # the node's disk: the driver's data root is not there
        raise FileNotFoundError("/data/fmnist (given path): does not exist")

    monkeypatch.setattr(trial, "trial_data", not_here)
    with pytest.warns(SetupWarning, match="cannot load the sweep's data"), \
            pytest.raises(SweepError) as caught:
        run_sweep(tmp_path / "s", executor="ray", address="auto", threads=1)
    said = str(caught.value)
    assert said.startswith("stopped: ") and "cannot load the sweep's data" in said
    assert "FileNotFoundError: /data/fmnist (given path): does not exist" in said
    assert said.endswith("continue with: cnnlab design run --resume "
                         f"{tmp_path / 's'} --executor ray --address auto --threads 1")
    with TrialStore(tmp_path / "s") as store:  # none failed, none charged
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 3


def test_joining_a_head_that_wants_a_token_names_ray_auth_mode(monkeypatch):
    # `ray start --head` turns token authentication on: a driver without RAY_AUTH_MODE=token
    # was refused after 20 s of "InvalidAuthToken" log lines, the message naming no fix.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = FakeRay([node(1), node(1)], initialized=False)
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)

    def refused(address=None, **options):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379.")

    ray.init = refused
    monkeypatch.setattr(executors, "_check_reachable", lambda *a, **kw: None)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(SweepError) as caught:
        executors.RayExecutor(address="10.0.0.1:6379")
    said = str(caught.value)
    assert said.startswith("could not join the Ray cluster at 10.0.0.1:6379: Failed to "
                           "connect to Ray cluster at 10.0.0.1:6379. Is its head node running")
    assert "joined with RAY_AUTH_MODE=token set here (and on every node) and its token in " \
           "~/.ray/auth_token or $RAY_AUTH_TOKEN" in said
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # set already: not the reason, not said
    with pytest.raises(SweepError) as caught:
        executors.RayExecutor(address="10.0.0.1:6379")
    assert "RAY_AUTH_MODE" not in str(caught.value)


class _NodeDied(RuntimeError):  # as Ray's NodeDiedError: a RayError, not a RayTaskError
    pass


def test_a_trial_whose_node_died_goes_out_again_uncharged(tmp_path, monkeypatch):
    # A node preempted or scaled down under a trial: charged an attempt each time, the
    # trial was stored 'failed' ("worker process died 2 times") at the second loss.
    create_sweep(tmp_path / "s", tiny_spec(), 1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = _NodesRay([node(1), node(1)])
    ray.exceptions = SimpleNamespace(RayError=RuntimeError, NodeDiedError=_NodeDied,
                                     RayTaskError=type("RayTaskError", (RuntimeError,), {}))
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)
    losses = iter(range(4))  # how many times the node under it dies, in all

    def run(task):  # this trial's node dies twice, then it trains on one that lives
        if next(losses) < 2:
            return _NodeDied("Task failed because the node it was running on is dead or "
                             "unavailable. Node IP: 10.0.0.7, node ID: 3f2a. This can happen "
                             "if the node was preempted ... use `ray list nodes ...`")
        return {**DONE, "id": task["id"], "worker": "node2:7", "code": task["code"]}

    monkeypatch.setattr(ray, "remote", lambda **o: lambda fn: SimpleNamespace(
        remote=lambda task: _Ref(run(task))))
    monkeypatch.setattr(ray, "get", lambda ref: _raise_or(ref.result))
    with pytest.warns(SetupWarning, match=r"^trial 0: its Ray node was lost \(Task failed "
                                          r"because the node it was running on is dead or "
                                          r"unavailable, node 10\.0\.0\.7\); it starts again "
                                          r"on a node that is alive, not charged a failure$"):
        counts = run_sweep(tmp_path / "s", executor="ray", address="auto", threads=1)
    assert counts["done"] == 1
    with TrialStore(tmp_path / "s") as store:
        assert store.trial(0)["attempts"] == 1  # the node's losses were not charged to it

    # A node that dies under it every time: after node_resends, the sweep's own retry,
    # then 'failed', as a lost worker is (a trial may be what brings its node down).
    losses = iter(range(-100, 0))
    create_sweep(tmp_path / "t", tiny_spec(), 1)
    with pytest.warns(SetupWarning, match="starts again"):
        run_sweep(tmp_path / "t", executor="ray", address="auto", threads=1)
    with TrialStore(tmp_path / "t") as store:
        t = store.trial(0)
        assert (t["status"], t["attempts"]) == ("failed", 2)
        assert "_NodeDied: Task failed because the node" in t["message"]


def _raise_or(result):
    if isinstance(result, BaseException):
        raise result
    return result


def test_a_node_that_joins_mid_sweep_is_given_trials(monkeypatch):
    # Trials at once were counted once, at the start: a node that joined later (the head
    # up first, workers after; a node back from a restart) stayed idle for the sweep.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(executors.RayExecutor, "poll_s", 0.0)  # nodes asked at every look
    ray = FakeRay([node(1)])
    monkeypatch.setattr(executors, "_import_ray", lambda: ray)

    def wait(handles, num_returns=1, timeout=None):  # a second node joins meanwhile
        ray.cluster, ray.waits = [node(1), node(1)], ray.waits + 1
        return (handles, []) if ray.waits >= 3 else ([], handles)

    ray.wait, ray.get = wait, lambda ref: dict(DONE)
    pool = executors.RayExecutor(address="auto", threads=1)
    assert pool.capacity == 1
    running = pool.submit({"id": 0, "code": None})
    assert pool.wait([running]) == []  # at once: the driver may start a trial there
    assert pool.capacity == 2 and ray.waits == 1
    monkeypatch.setattr(ray, "nodes", lambda: [node(1)])  # and it leaves again
    assert pool.capacity == 1
    pool.close()
