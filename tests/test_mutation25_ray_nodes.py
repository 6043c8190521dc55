"""Where a sweep's trials fit on a Ray cluster, at the edges the other tests left open:
a dead node that still lists its resources, a GPU node short of GPUs rather than CPUs,
the largest of several alive nodes, and a slot count that follows the cluster as it
changes (session 39's mutation testing of design/ray_nodes.py)."""

from __future__ import annotations

import cnnlab.design.ray_nodes as ray_nodes
from cnnlab.design.ray_nodes import LiveSlots, join_failed, trial_slots, unfit_reason


def node(cpus: float, gpus: float = 0, alive: bool = True) -> dict:
    # A dead node keeps its resources here: whether Ray lists them or not, it runs nothing.
    resources = {"CPU": float(cpus), **({"GPU": float(gpus)} if gpus else {})}
    return {"NodeID": "x", "Alive": alive, "Resources": resources}


def test_a_dead_node_that_still_lists_its_resources_holds_no_trial():
    assert "largest alive node of the Ray cluster has 2 CPUs" in unfit_reason(
        [node(32, alive=False), node(2)], 8, 0)
    assert "no alive node of the Ray cluster has a GPU" in unfit_reason(
        [node(16), node(8, gpus=2, alive=False)], 1, 1)


def test_the_largest_of_several_alive_nodes_is_named():
    # (the fix's words are the caller's: a flag, or run_sweep's argument)
    assert "the largest alive node of the Ray cluster has 6 CPUs" in unfit_reason(
        [node(2), node(6), node(3)], 8, 0)
    assert "the GPU node with the most CPUs has 6 CPUs and 1 GPU" in unfit_reason(
        [node(2, gpus=1), node(6, gpus=1), node(32)], 8, 1)


def test_a_gpu_node_runs_no_more_trials_at_once_than_it_has_gpus():
    # 8 CPUs hold four 2-CPU trials, its one GPU only one of them
    assert trial_slots([node(8, gpus=1)], 2, 1) == 1
    assert trial_slots([node(8, gpus=1), node(8, gpus=3)], 2, 1) == 1 + 3
    assert trial_slots([node(5), node(7)], 2, 0) == 2 + 3  # a CPU left over runs nothing


class Cluster:
    """What LiveSlots asks of ``ray``: its nodes now, and how often it was asked."""

    def __init__(self, nodes: list[dict]) -> None:
        self.now, self.asked = nodes, 0

    def nodes(self) -> list[dict]:
        self.asked += 1
        return self.now


def test_live_slots_follow_the_cluster_asking_at_most_once_per_period(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(ray_nodes.time, "monotonic", lambda: clock[0])
    cluster = Cluster([node(4)])
    live = LiveSlots(cluster, 2, 0, every_s=10.0)
    assert live() == 2
    cluster.now = [node(4), node(4)]
    clock[0] += 9.9
    assert live() == 2 and cluster.asked == 1  # within the period: not asked again
    clock[0] += 0.1
    assert live() == 4 and cluster.asked == 2  # a node joined: two more trials at once


def test_the_token_hint_is_left_out_where_token_authentication_is_already_on(monkeypatch):
    exc = ConnectionError("Failed to connect to GCS.")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert "RAY_AUTH_MODE=token" in join_failed("head:6379", "--address", exc)
    monkeypatch.setenv("RAY_AUTH_MODE", " Token ")
    said = join_failed("head:6379", "--address", exc)
    assert said.startswith("could not join the Ray cluster at head:6379: Failed to connect "
                           "to GCS. Is its head node running")
    assert "RAY_AUTH_MODE" not in said
