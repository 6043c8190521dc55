"""The Ray executor never waits silently on a trial no node can run: a request larger
than every node (though not than the cluster) is refused before any trial starts, and a
cluster that shrinks under a sweep stops it with the reason, after a grace period, its
running trials uncharged. A local Ray is sized as the local executor is (no more threads
than cores); a cluster named by RAY_ADDRESS is used as one given with --address.

Most tests stand a fake ``ray`` in for the real one (instant, any cluster shape); one
starts a real local Ray in a subprocess, so a hang fails it instead of the suite.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from design_helpers import ray_script_result, tiny_spec
from typer.testing import CliRunner

import cnnlab.design.executors as executors
from cnnlab.cli.design import app
from cnnlab.design.code_check import code_fingerprint
from cnnlab.design.executors import (
    LocalExecutor,
    RayExecutor,
    check_executor,
    ray_address,
)
from cnnlab.design.ray_nodes import trial_slots, unfit_reason
from cnnlab.design.runner import create_sweep, run_sweep
from cnnlab.design.store import SweepError, TrialStore


def node(cpus: float, gpus: float = 0, alive: bool = True) -> dict:
    """One entry of ``ray.nodes()``, with the resources Ray always lists beside them."""
    resources = {"CPU": float(cpus), "memory": 8e9, "object_store_memory": 2e9,
                 "node:10.0.0.1": 1.0}
    if gpus:
        resources["GPU"] = float(gpus)
    return {"NodeID": "x", "Alive": alive, "Resources": resources if alive else {}}


FOUR_BY_FOUR = [node(4) for _ in range(4)]  # 16 CPUs in all, 4 on any node

# ------------------------------------------------------------ the check itself


def test_a_request_no_single_node_holds_is_named_with_the_largest_node_and_the_fix():
    assert unfit_reason(FOUR_BY_FOUR, 4, 0) is None
    assert unfit_reason(FOUR_BY_FOUR, 8, 0) == (
        "a trial asks for 8 CPUs (--threads 8), but the largest alive node of the Ray "
        "cluster has 4 CPUs: give --threads 4 or less")
    # A dead node counts for nothing, however large it was.
    assert "has 2 CPUs: give --threads 2 or less" in unfit_reason(
        [node(32, alive=False), node(2)], 8, 0)
    assert unfit_reason([node(0)], 1, 0) == (  # a head started with --num-cpus 0, no workers
        "a trial asks for 1 CPU (--threads 1), but no alive node of the Ray cluster has a "
        "CPU: start worker nodes (ray start --address HEAD)")
    assert "no alive node" in unfit_reason([], 1, 0)


def test_a_gpu_trial_needs_its_cpus_on_a_gpu_node():
    mixed = [node(2, gpus=1), node(16)]  # the CPUs are where the GPU is not
    assert unfit_reason(mixed, 4, 0) is None
    assert unfit_reason(mixed, 4, 1) == (
        "a trial asks for 4 CPUs (--threads 4) and 1 GPU, but the GPU node with the most "
        "CPUs has 2 CPUs and 1 GPU: give --threads 2 or less, or --device cpu")
    assert unfit_reason(mixed, 2, 1) is None
    assert "give that node CPUs (ray start --num-cpus), or --device cpu" in unfit_reason(
        [node(0, gpus=4), node(16)], 1, 1)
    assert unfit_reason([node(16), node(8, gpus=2, alive=False)], 1, 1) == (
        "a trial asks for 1 CPU (--threads 1) and 1 GPU, but no alive node of the Ray "
        "cluster has a GPU: add GPU nodes, or give --device cpu")


def test_slots_are_counted_node_by_node():
    assert trial_slots(FOUR_BY_FOUR, 3, 0) == 4  # the cluster's 16 CPUs // 3 would say 5
    assert trial_slots(FOUR_BY_FOUR + [node(64, alive=False)], 2, 0) == 8
    assert trial_slots([node(8, gpus=4), node(2, gpus=2), node(32)], 2, 1) == 4 + 1
    assert trial_slots(FOUR_BY_FOUR, 8, 0) == 1  # never 0 (refused before it matters)


# ------------------------------------------------------------ a fake Ray


class FakeRay:
    """What RayExecutor uses of ``ray``, over a cluster given as ``ray.nodes()`` entries.
    ``wait`` returns nothing (the tasks stay pending), moves a fake clock on by its
    timeout and calls ``on_wait`` (the cluster changing meanwhile)."""

    exceptions = SimpleNamespace(RayError=RuntimeError,  # and a task's own error, as Ray's:
                                 RayTaskError=type("RayTaskError", (RuntimeError,), {}))

    def __init__(self, nodes, initialized=True, on_wait=None):
        self.cluster, self.initialized, self.on_wait = nodes, initialized, on_wait
        self.now, self.waits, self.shutdowns, self.options = 0.0, 0, 0, None
        self.init_options = None

    def is_initialized(self):
        return self.initialized

    def init(self, address=None, **options):
        # As Ray 2.x does: no address joins RAY_ADDRESS's cluster, and refuses num_cpus there.
        if address is None and os.environ.get("RAY_ADDRESS") and "num_cpus" in options:
            raise ValueError("When connecting to an existing cluster, num_cpus and num_gpus "
                             "must not be provided.")
        self.init_options = {"address": address, **options}
        if "num_cpus" in options:  # a local instance: one node that size
            self.cluster = [node(options["num_cpus"])]
        self.initialized = True
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))  # as Ray's own does

    def shutdown(self):
        self.initialized, self.shutdowns = False, self.shutdowns + 1

    def nodes(self):
        return self.cluster

    def cluster_resources(self):
        total: dict = {}
        for n in self.cluster:
            for key, value in n["Resources"].items():
                total[key] = total.get(key, 0) + value
        return total

    def remote(self, **options):
        self.options = options
        return lambda fn: SimpleNamespace(remote=lambda task: object())

    def wait(self, handles, num_returns=1, timeout=None):
        if timeout is None:  # a real Ray would block here for good
            raise AssertionError("ray.wait with no timeout on a task that cannot run")
        self.waits += 1
        self.now += timeout
        if self.on_wait:
            self.on_wait(self)
        return [], handles

    def cancel(self, ref, force=False):
        pass


@pytest.fixture
def fake_ray(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a developer's own: not these tests'
    # FakeRay.init installs a SIGTERM handler as Ray does; an executor a test never closes
    # would leave it to the tests after this one.
    sigterm = signal.getsignal(signal.SIGTERM)

    def install(*args, **kwargs):
        ray = FakeRay(*args, **kwargs)
        monkeypatch.setattr(executors, "_import_ray", lambda: ray)
        monkeypatch.setattr(executors, "time", SimpleNamespace(monotonic=lambda: ray.now),
                            raising=False)
        return ray

    yield install
    signal.signal(signal.SIGTERM, sigterm)


def test_too_many_threads_for_every_node_are_refused_and_ray_is_shut_down(fake_ray):
    before = signal.getsignal(signal.SIGTERM)
    ray = fake_ray(FOUR_BY_FOUR, initialized=False)  # Ray is started here: ours to stop
    with pytest.raises(SweepError, match=r"asks for 8 CPUs .* give --threads 4 or less"):
        RayExecutor(address="auto", threads=8)
    assert ray.shutdowns == 1 and ray.options is None  # no task was even declared
    assert signal.getsignal(signal.SIGTERM) is before  # Ray's sys.exit handler is gone

    ray = fake_ray(FOUR_BY_FOUR)  # the caller's Ray: refused, and left running
    with pytest.raises(SweepError, match="give --threads 4 or less"):
        RayExecutor(threads=8)
    assert ray.shutdowns == 0 and ray.initialized
    executor = RayExecutor(threads=3, workers=6)
    assert executor.capacity == 6 and ray.options == {"num_cpus": 3, "num_gpus": 0,
                                                      "max_retries": 0}
    assert RayExecutor(threads=3).capacity == 4  # one per node, not 16 // 3


def test_a_gpu_is_asked_for_only_where_a_node_can_give_it_with_the_cpus(fake_ray):
    fake_ray([node(2, gpus=1), node(16)])
    with pytest.raises(SweepError, match="give --threads 2 or less, or --device cpu"):
        RayExecutor(threads=4)
    assert RayExecutor(threads=4, device="cpu").capacity == 4


def test_a_cluster_that_shrinks_under_the_sweep_stops_it_after_the_grace_period(fake_ray):
    def big_node_leaves(ray):
        if ray.waits == 1:
            ray.cluster = [node(8, alive=False), node(2)]

    ray = fake_ray([node(8), node(2)], on_wait=big_node_leaves)
    executor = RayExecutor(threads=4)
    handles = [executor.submit({}), executor.submit({})]
    with pytest.raises(SweepError) as caught:
        executor.wait(handles)
    assert str(caught.value) == (
        "the Ray cluster has lost the nodes that could run this sweep's trials (2 waiting, "
        "none placeable for 300 s): a trial asks for 4 CPUs (--threads 4), but the largest "
        "alive node of the Ray cluster has 2 CPUs: give --threads 2 or less")
    # Seen unfit after the first poll (t=10 s), stopped once grace_s had gone by.
    assert ray.now == RayExecutor.poll_s + RayExecutor.grace_s


def test_a_node_back_within_the_grace_period_keeps_the_sweep_waiting(fake_ray):
    def restarts(ray):
        if ray.waits == 1:  # gone for 250 s, back, gone again for 250 s
            ray.cluster = [node(8, alive=False)]
        elif ray.waits == 26:
            ray.cluster = [node(8)]
        elif ray.waits == 27:
            ray.cluster = [node(8, alive=False)]
        elif ray.waits == 52:  # and a trial finishes
            ray.cluster = [node(8)]
            ray.wait = lambda handles, **kw: (handles[:1], handles[1:])
            ray.get = lambda ref: {"status": "done"}

    fake_ray([node(8)], on_wait=restarts)
    executor = RayExecutor(threads=4)
    handle = executor.submit({})
    assert executor.wait([handle]) == [(handle, {"status": "done"})]


def test_the_cli_says_it_in_one_line_and_no_trial_is_charged(tmp_path, fake_ray):
    fake_ray(FOUR_BY_FOUR)
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path / "s"), "--executor",
                                      "ray", "--address", "auto", "--threads", "8"])
    assert result.exit_code == 2, result.output
    assert "give --threads 4 or less" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    with TrialStore(tmp_path / "s") as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2


def test_a_cluster_ray_init_cannot_join_is_one_line_not_a_traceback(tmp_path, fake_ray):
    # `--address auto` with no cluster running, or a port that answers but is no Ray GCS
    # (the dashboard's, a proxy) or wants an auth token: ray.init raises ConnectionError.
    ray = fake_ray(FOUR_BY_FOUR, initialized=False)

    def no_cluster(address=None, **options):
        raise ConnectionError("Could not find any running Ray instance.\nPlease specify ...")

    ray.init = no_cluster
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path / "s"), "--executor",
                                      "ray", "--address", "auto"])
    assert result.exit_code == 1, result.output  # a valid sweep that cannot go on here
    said = " ".join(result.output.split())
    assert "could not join the Ray cluster at auto: Could not find any running Ray " \
           "instance. Is its head node running" in said
    assert "Traceback" not in result.output and "Please specify" not in said
    with TrialStore(tmp_path / "s") as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2


def test_a_new_sweep_refused_before_any_trial_leaves_no_folder_behind(tmp_path, fake_ray):
    # The README says a sweep that cannot run here is refused before it starts; it had
    # been left behind, stored and never trained, in a folder made for it.
    ray = fake_ray(FOUR_BY_FOUR, initialized=False)
    ray.init = lambda address=None, **options: (_ for _ in ()).throw(
        ConnectionError("Could not find any running Ray instance."))
    out = tmp_path / "sweeps" / "a"
    result = CliRunner().invoke(app, [
        "run", "--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data",
        "synthetic", "--n", "2", "--train-subset", "64", "--out", str(out),
        "--executor", "ray", "--address", "auto"])
    assert result.exit_code == 1 and "could not join the Ray cluster" in result.output
    assert not (tmp_path / "sweeps").exists()


DONE = {"status": "done", "error_pct": 50.0, "test_acc": 0.5, "best_test_acc": 0.5,
        "train_time_s": 1.0, "epochs": 1}


def test_trials_a_lost_cluster_stopped_keep_their_retry_for_the_resumed_sweep(
        tmp_path, fake_ray):
    def every_node_leaves(ray):
        ray.cluster = [node(4, alive=False)]

    create_sweep(tmp_path / "s", tiny_spec(), 3)
    fake_ray([node(4)], on_wait=every_node_leaves)
    with pytest.raises(SweepError, match=r"lost the nodes .* continue with: cnnlab design "
                                         r"run --resume \S+ --executor ray --address auto "
                                         r"--threads 2$"):
        run_sweep(tmp_path / "s", executor="ray", address="auto", threads=2)
    with TrialStore(tmp_path / "s") as store:
        # Two were running (4 CPUs, 2 a trial) when the sweep gave up: not tried, not charged.
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 3

    # The cluster is back and the sweep resumed: those two lose their worker once each.
    # A trial gets one retry on a lost worker: both are trained again, neither 'failed'.
    ray = fake_ray([node(4)])
    losses = iter([True, True])

    def get(ref):
        if next(losses, False):
            raise FakeRay.exceptions.RayError("worker died")
        return {**DONE, "code": code_fingerprint()}  # a worker running this code

    ray.wait = lambda handles, **kw: (handles[:1], handles[1:])
    ray.get = get
    assert run_sweep(tmp_path / "s", executor="ray", address="auto", threads=2)["done"] == 3
    with TrialStore(tmp_path / "s") as store:
        assert [t["attempts"] for t in store.trials()] == [2, 2, 1]


def test_a_local_ray_runs_as_many_trials_as_the_cores_hold_as_the_local_executor(
        fake_ray, monkeypatch):
    # This process may use 5 cores of the host's 64 (a container, taskset).
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: set(range(5)),
                        raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 64)

    def started(**kwargs) -> tuple[int, int]:
        ray = fake_ray([], initialized=False)
        executor = RayExecutor(**kwargs)
        assert ray.init_options["address"] == "local"  # not a `ray start` cluster found here
        # Ray's INFO and WARNING lines about the instance started here stay out of the
        # sweep's terminal ("Started a local Ray instance.", token authentication).
        assert ray.init_options["logging_level"] == logging.ERROR
        return ray.init_options["num_cpus"], executor.capacity

    assert started(threads=2) == (4, 2)  # not 5 trials of 2 threads each on 5 cores
    assert started() == (5, 5)
    assert started(threads=8) == (8, 1)  # more threads than cores: one trial, not refused
    assert started(threads=2, workers=3) == (6, 3)  # --workers: as many as asked for
    assert started(workers=2) == (4, 2)  # --workers alone: the cores shared, 2 threads each
    fake_ray([], initialized=False)
    assert RayExecutor(workers=2).threads == 2
    # The local executor's defaults, over the same cores: one trial of 5 threads, 2 of 2.
    assert LocalExecutor(device="cpu").threads == 5
    assert LocalExecutor(workers=2, device="cpu").threads == 2


def test_a_cluster_named_by_RAY_ADDRESS_is_used_as_one_given_with_address(
        tmp_path, fake_ray, monkeypatch, request):
    ray = fake_ray(FOUR_BY_FOUR, initialized=False)
    with socket.socket() as head:  # a head node, listening
        head.bind(("127.0.0.1", 0))
        head.listen()
        address = f"127.0.0.1:{head.getsockname()[1]}"
        monkeypatch.setenv("RAY_ADDRESS", address)
        check_executor("ray")  # reachable: fine
        executor = RayExecutor(threads=2, workers=12)
    # Joined, with no num_cpus (Ray refuses it there, as FakeRay.init does).
    assert ray.init_options == {"address": address, "include_dashboard": False,
                                "log_to_driver": False, "logging_level": logging.WARNING}
    assert executor.name == f"ray {address} (RAY_ADDRESS)"  # stored with running trials
    assert executor.capacity == 12  # a cluster may grow: --workers kept, as with --address
    assert ray_address("10.0.0.9:6379") == ("10.0.0.9:6379", "--address")  # the flag wins
    executor.close()

    # A port nothing listens on: bound, not listening, for the rest of the test (closed,
    # another process, a torchrun in a parallel test say, could take it and listen).
    gone = socket.socket()
    request.addfinalizer(gone.close)
    gone.bind(("127.0.0.1", 0))
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{gone.getsockname()[1]}")
    said = r"cannot reach the Ray cluster at 127\.0\.0\.1:\d+ \(set in RAY_ADDRESS\)"
    with pytest.raises(SweepError, match=said + r".* Or unset RAY_ADDRESS to start Ray here"):
        check_executor("ray")
    ray = fake_ray(FOUR_BY_FOUR, initialized=False)
    with pytest.raises(SweepError, match=said):
        RayExecutor()
    assert ray.init_options is None  # refused before Ray was asked
    create_sweep(tmp_path / "s", tiny_spec(), 2)
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path / "s"),
                                      "--executor", "ray"])
    assert result.exit_code == 1, result.output  # a valid sweep Ray cannot run
    assert "(set in RAY_ADDRESS)" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    with TrialStore(tmp_path / "s") as store:
        assert [(t["status"], t["attempts"]) for t in store.trials()] == [("pending", 0)] * 2


# ------------------------------------------------------------ a real local Ray

REAL_RAY = r"""
import json, ray
from cnnlab.design.executors import RayExecutor
from cnnlab.design.store import SweepError

ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
seen = {"nodes": [sorted(n) for n in ray.nodes()]}
try:
    executor = RayExecutor(threads=4)
except SweepError as exc:
    seen["refused"] = str(exc)
else:  # what the old executor did: the task waits for 4 CPUs a 2-CPU node never has
    executor.wait([executor.submit({})])
seen["capacity"] = [RayExecutor(threads=t).capacity for t in (1, 2)]
seen["still_up"] = ray.is_initialized()  # the caller's Ray, not the executor's to stop
ray.shutdown()
print("RESULT " + json.dumps(seen))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray cluster at a time
def test_a_real_local_ray_refuses_a_trial_larger_than_its_node_at_once():
    pytest.importorskip("ray")
    root = Path(__file__).resolve().parents[1]
    seen = ray_script_result(REAL_RAY, cwd=root, timeout=120,  # Ray starts in ~10 s
                             hung="a trial no node can run left the sweep waiting")
    assert all({"Alive", "Resources"} <= set(keys) for keys in seen["nodes"])
    # A script's sweep (run_sweep): the argument it gives, not the command's flag
    assert seen["refused"] == ("a trial asks for 4 CPUs (threads=4), but the largest alive "
                               "node of the Ray cluster has 2 CPUs: give threads=2 or less")
    assert seen["capacity"] == [2, 1] and seen["still_up"]


def test_the_continue_command_keeps_the_executor_and_its_address():
    # After Ctrl-C the hint said `--resume DIR` alone, which resumes a Ray sweep locally.
    from cnnlab.design.runner import resume_command

    assert resume_command("s", "local", None) == "cnnlab design run --resume s"
    assert resume_command("s", "ray", None) == "cnnlab design run --resume s --executor ray"
    assert resume_command("s", "ray", "head:6379") == \
        "cnnlab design run --resume s --executor ray --address head:6379"

