"""Where on a Ray cluster a sweep's trials fit: each asks one node for its CPUs (and a
GPU), so the cluster's totals say nothing; :class:`~cnnlab.design.executors.RayExecutor`
refuses a request no alive node holds, and counts the trials the nodes run at once.
``nodes`` are as ``ray.nodes()`` gives them (Alive, Resources with float counts). A
trial whose node dies under it goes out again (:class:`Sent`). And what is said when
Ray is missing or its cluster cannot be joined, in the words its caller gave the settings
in: the command's flags, or run_sweep's arguments.
"""

from __future__ import annotations

import os
import re
import time

from cnnlab.formatting import counted
from cnnlab.train.machine import as_given  # what a caller gave: a flag, or run_sweep's


def fits(resources: dict, cpus: int, gpus: int) -> bool:
    return resources.get("CPU", 0) >= cpus and resources.get("GPU", 0) >= gpus


def unfit_reason(nodes: list[dict], cpus: int, gpus: int) -> str | None:
    """Why no alive node of ``nodes`` (as ``ray.nodes()`` gives them) can run a trial
    asking for ``cpus`` CPUs and ``gpus`` GPUs, with the fix; None when one can.

    One node must hold the whole request: a cluster of four 4-CPU nodes has 16 CPUs,
    yet a trial asking for 8 runs nowhere."""
    alive = [n.get("Resources") or {} for n in nodes if n.get("Alive")]
    if any(fits(r, cpus, gpus) for r in alive):
        return None
    # int(): Ray reports its counts as floats (4.0 CPUs)
    def threads(n) -> str:
        return as_given(f"--threads {n}", f"threads={n}")

    # run_sweep takes no device: the sweep's own, which the command moves
    cpu_device = as_given("--device cpu", "the CPU (cnnlab design run --resume DIR --device cpu "
                                          "moves the sweep there)")
    asks = f"a trial asks for {counted(int(cpus), 'CPU')} ({threads(cpus)})"
    if gpus:
        asks += f" and {counted(int(gpus), 'GPU')}"
        alive = [r for r in alive if r.get("GPU", 0) >= gpus]  # where it can go
        if not alive:
            return (f"{asks}, but no alive node of the Ray cluster has a GPU: add GPU nodes, "
                    f"or give {cpu_device}")
    best = max(alive, key=lambda r: r.get("CPU", 0), default={})
    most = int(best.get("CPU", 0))
    if gpus:
        has = f"the GPU node with the most CPUs has {counted(int(most), 'CPU')}"
        return (f"{asks}, but {has} and {counted(int(best['GPU']), 'GPU')}: give "
                + (f"{threads(most)} or less" if most else "that node CPUs (ray start "
                   "--num-cpus)") + f", or {cpu_device}")
    if most:
        return (f"{asks}, but the largest alive node of the Ray cluster has "
                f"{counted(int(most), 'CPU')}: give {threads(most)} or less")
    return (f"{asks}, but no alive node of the Ray cluster has a CPU: start worker nodes "
            "(ray start --address HEAD)")


def trial_slots(nodes: list[dict], cpus: int, gpus: int) -> int:
    """Trials the alive nodes can run at once, each node holding its own share (the
    cluster's total CPUs over ``cpus`` would count CPUs no trial can use)."""
    total = 0
    for node in nodes:
        r = node.get("Resources") or {}
        if node.get("Alive") and fits(r, cpus, gpus):
            each = int(r.get("CPU", 0) // cpus)
            total += min(each, int(r.get("GPU", 0) // gpus)) if gpus else each
    return max(1, total)


class Sent:
    """One trial on Ray: its task, and the Ray task running it now (another once its node
    died and it went out again: RayExecutor.node_resends)."""

    def __init__(self, task: dict, ref) -> None:
        self.task, self.ref, self.node_losses = task, ref, 0


def say_resent(handle: Sent, exc: Exception) -> None:
    """Said as a trial goes out again: Ray's own line names a node ID, not the trial."""
    from cnnlab.notices import SetupWarning, warn_user

    # Ray's message runs to 500 characters of where to look; its first sentence and the
    # node's address say what happened.
    text = str(exc).strip() or type(exc).__name__
    said = text.split(". ")[0].rstrip(".")[:200]
    at = re.search(r"Node IP: ([^,\s]+)", text)
    where = f", node {at[1]}" if at else ""
    warn_user(f"trial {handle.task.get('id')}: its Ray node was lost ({said}{where}); it "
              "starts again on a node that is alive, not charged a failure", SetupWarning)


class LiveSlots:
    """:func:`trial_slots` of the cluster's alive nodes now, asked of Ray (``ray``) at most
    once per ``every_s``: the sweep's driver asks before each trial it starts."""

    def __init__(self, ray, cpus: int, gpus: int, every_s: float = 10.0) -> None:
        self.ray, self.cpus, self.gpus, self.every_s = ray, cpus, gpus, every_s
        self._slots, self._at = 1, None

    def __call__(self) -> int:
        now = time.monotonic()
        if self._at is None or now - self._at >= self.every_s:
            self._slots, self._at = trial_slots(self.ray.nodes(), self.cpus, self.gpus), now
        return self._slots


def ray_missing() -> str:
    """Ray not installed: how to install it, or train here (the flag, or from Python the
    argument a run_sweep caller gave)."""
    local = as_given("--executor local", "executor='local'")
    return ("the Ray executor needs Ray, which is not installed: pip install 'cnnlab[ray]' "
            f"(or pip install 'ray[default]'), or use {local}")


def address_undone(named_by: str) -> str:
    """How to start Ray here instead of joining the cluster ``named_by`` gave: "leave out
    --address" on the command line; from Python (run_sweep, a notebook), whose caller
    typed no flag, "leave out address="; "unset RAY_ADDRESS" for the environment's."""
    if named_by != "--address":
        return f"unset {named_by}"
    return as_given("leave out --address", "leave out address= (run_sweep's)")


def join_failed(address: str, named_by: str, exc: Exception) -> str:
    """ray.init's ConnectionError (a traceback, after retrying for a while), as one line:
    the port answered but no Ray cluster joined (another service, no auth token, "auto"
    with no cluster running here)."""
    where = "" if named_by == "--address" else f" (set in {named_by})"
    undo = address_undone(named_by)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
    said = (f"could not join the Ray cluster at {address}{where}: {first}. Is its head node "
            "running (ray start --head), this its GCS address (not the dashboard's), and its "
            f"auth token here if it uses one? Or {undo} to start Ray here")
    if os.environ.get("RAY_AUTH_MODE", "").strip().lower() != "token":
        # Ray's `ray start --head` turns token authentication on by default; a driver
        # without RAY_AUTH_MODE=token then retried for 20 s, its only clue a log line a
        # second ("InvalidAuthToken") above this message, which named no fix.
        said += (". A head that says \"Token authentication is enabled\" as it starts is "
                 "joined with RAY_AUTH_MODE=token set here (and on every node) and its token "
                 "in ~/.ray/auth_token or $RAY_AUTH_TOKEN (`ray get-auth-token` prints it "
                 "on the head)")
    return said
