"""Where a sweep's trials run: worker processes on this machine, or a Ray cluster.

An executor has ``capacity`` (trials at once), ``threads`` (torch threads per trial),
``gpus`` (0 where trials train on CPUs), ``name``, ``submit(task) -> handle``,
``wait(handles) -> [(handle, result or the exception that lost it)]`` and
``close(cancel)``. Both run :func:`cnnlab.design.trial.run_trial`, and return a result
that came back without the code fingerprint its task was sent with as 'refused'
(:func:`cnnlab.design.code_check.checked`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from concurrent.futures.process import BrokenProcessPool

from cnnlab.design.code_check import checked, not_run
from cnnlab.design.ray_nodes import (
    LiveSlots,
    Sent,
    address_undone,
    join_failed,
    ray_missing,
    say_resent,
    trial_slots,
    unfit_reason,
)
from cnnlab.design.store import SweepError
from cnnlab.design.trial import run_trial
from cnnlab.train.machine import as_given
from cnnlab.train.machine import usable_cores as _cores

# ProcessPoolExecutor's limit on Windows (concurrent.futures' documentation).
WINDOWS_MAX_WORKERS = 61


class SweepFailure(SweepError):
    """A valid sweep that cannot go on here: Ray not installed, a cluster out of reach or
    without the nodes its trials need any more (the CLI exits 1, not 2: the request was
    fine)."""


def _gpu_count(device: str) -> int:
    import torch

    if device not in ("auto", "cuda") and not device.startswith("cuda"):
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0



def fits_the_cores(threads: int, workers: int | None) -> bool:
    """Whether ``workers`` trials (None: one) of ``threads`` threads each fit the cores."""
    return threads * (workers or 1) <= _cores()


def _init_worker(threads: int, gpu_queue) -> None:
    # Runs first in every worker process, before any CUDA call: pin one GPU, size the
    # thread pool, and make sure a worker never outlives its sweep.
    if sys.platform == "win32":
        # Windows starts a child with Python's Ctrl-C handler, not the SIG_IGN of
        # _children_ignore_sigint (kept across exec on POSIX only), and a console's Ctrl-C
        # reaches every process attached to it: each idle worker printed a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())
    import threading

    import torch

    torch.set_num_threads(threads)
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _exit_with_parent() -> None:
    # A killed sweep (SIGKILL, OOM killer) cannot stop its workers; they notice here.
    import multiprocessing
    import multiprocessing.connection

    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


@contextlib.contextmanager
def _children_ignore_sigint():
    """Processes started inside start with SIGINT ignored (kept across exec; Python then
    installs no handler). A terminal's Ctrl-C reaches every process of the sweep: one
    still importing torch, or idle between trials, printed a KeyboardInterrupt traceback
    each, under the sweep's own "interrupted" line. The driver stops the sweep and ends
    its workers (close); a trial training still stops at its step's end, as the Trainer
    listens for SIGINT itself while it trains."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signal.signal works in the main thread only
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if previous is not None:  # None: set outside Python, nothing to put back
            signal.signal(signal.SIGINT, previous)


class LocalExecutor:
    """K worker processes (``spawn``), one per GPU or CPU slot; K = 1 trains in-process.

    Each worker loads the dataset once (the first trial it runs) and uses ``threads``
    torch threads (default: cores / K); with GPUs, worker k owns GPU k mod (number of
    GPUs) through CUDA_VISIBLE_DEVICES."""

    grace_s = 5.0  # how long close(cancel=True) lets stopped workers exit before killing

    def __init__(self, workers: int | None = None, threads: int | None = None,
                 device: str = "auto"):
        self.gpus = _gpu_count(device)
        self.capacity = workers or max(1, self.gpus)
        if self.capacity < 1:
            raise SweepError(f"{as_given('--workers', 'workers')} must be >= 1, got {workers}")
        _check_windows_workers(self.capacity)
        self.threads = threads or max(1, _cores() // self.capacity)
        self.name = f"local x{self.capacity}"
        self._pool = None
        self._sent: dict = {}  # future -> the code fingerprint its task was sent with

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # fork after torch threads is unsafe
        queue = None
        if self.gpus:
            queue = ctx.Queue()
            for k in range(self.capacity):
                queue.put(k % self.gpus)
        return ProcessPoolExecutor(self.capacity, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self.threads, queue))

    def submit(self, task: dict):
        from concurrent.futures import Future

        if self.capacity == 1:  # no process to start, nothing to pickle; the driver's code
            future: Future = Future()
            future.set_result(run_trial(task))
            return future
        if self._pool is None:
            self._pool = self._start()
        try:
            with _children_ignore_sigint():  # the pool starts its processes in submit
                future = self._pool.submit(run_trial, task)
        except BrokenProcessPool:  # it broke since the last wait: a fresh one
            self.close(cancel=True)
            self._pool = self._start()
            with _children_ignore_sigint():
                future = self._pool.submit(run_trial, task)
        # A worker started after its cnnlab was changed (a fresh pool, hours in) imports that.
        self._sent[future] = task.get("code")
        return future

    def wait(self, handles: list) -> list[tuple]:
        """(handle, result dict or the exception that lost it) for each finished one."""
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures

        done, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
        if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
            # A dead worker breaks the pool and fails every future in it, though not all
            # at the same instant: collect them all, so the sweep sees the whole loss.
            done, _ = wait_futures(handles)
            self.close(cancel=True)  # and start a fresh pool for what follows
        return [(f, f.exception() or checked(f.result(), self._sent.pop(f, None)))
                for f in done]

    def close(self, cancel: bool = False) -> None:
        self._sent.clear()
        if self._pool is None:
            return
        # ProcessPoolExecutor cannot stop running tasks; terminating its processes is
        # the only way (SIGTERM on POSIX: the Trainer stops at the end of its step; on
        # Windows TerminateProcess ends it at once). Trials write no run folder
        # (write_run_dir=False), so either way nothing of theirs is left half-written.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        if cancel:
            for p in processes:
                p.terminate()
            deadline = time.monotonic() + self.grace_s
            for p in processes:
                p.join(timeout=max(0.0, deadline - time.monotonic()))
            # A worker whose Trainer took the SIGTERM (as it takes a Ctrl-C: stop at the
            # step's end) finished its trial and waited for the next one, alive: the sweep
            # said "interrupted", then hung at exit, joining it. Nothing of a trial is on
            # disk, so killing it loses nothing.
            for p in processes:
                if p.is_alive():
                    p.kill()
                    p.join()  # SIGKILL cannot be refused: it ends (slowly under load)
        self._pool = None


def ray_address(address: str | None) -> tuple[str | None, str]:
    """The Ray cluster a sweep runs on, and what named it: ``--address``, else the
    RAY_ADDRESS environment variable (Ray's own convention: ray.init joins that cluster
    when given no address), else (None, "") for a local Ray started here ("local" too)."""
    named_by = "--address"
    if address is None:
        address, named_by = os.environ.get("RAY_ADDRESS", "").strip() or None, "RAY_ADDRESS"
    return (None, "") if address in (None, "local") else (address, named_by)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SweepFailure(ray_missing()) from None
    return ray


class RayExecutor:
    """Trials as Ray tasks: on the cluster at ``address`` (default: RAY_ADDRESS's), or a
    local Ray started here.

    Each task asks for ``threads`` CPUs and, when the cluster has GPUs (and the device
    is not cpu), one GPU. Ray does not retry tasks itself: a lost worker comes back
    as an exception and the sweep decides (retry once, then 'failed'); a lost node is
    not the trial's doing, and it goes out again first (``node_resends``). Every node
    needs this same cnnlab and torch installed: a trial sent to one with other code
    comes back 'refused', untrained, naming it (design/code_check.py)."""

    poll_s = 10.0  # how often a wait with nothing finished looks at the cluster's nodes
    node_resends = 2  # times a trial whose node died goes out again before it is charged
    grace_s = 300.0  # how long no node may fit a trial before the sweep stops

    def __init__(self, address: str | None = None, workers: int | None = None,
                 threads: int | None = None, device: str = "auto"):
        ray = self._ray = _import_ray()
        # A cluster named by RAY_ADDRESS is used as one given with --address: ray.init would
        # join it anyway, and then refuse the num_cpus meant for a local instance.
        address, named_by = ray_address(address)
        # A trial takes one CPU unless told; a local instance given --workers alone shares
        # this machine's cores among them, as LocalExecutor does (1 each left cores idle).
        local_workers = workers if address is None and not ray.is_initialized() else None
        self.threads = threads or (max(1, _cores() // local_workers) if local_workers else 1)
        self._owned = not ray.is_initialized()
        # ray.init installs its own SIGTERM handler (sys.exit) and shutdown leaves it: the
        # caller's is put back on close.
        self._sigterm = signal.getsignal(signal.SIGTERM) if self._owned else None
        self._outstanding: dict = {}  # Sent -> the code fingerprint it was sent with
        if self._owned:
            # Ray's own lines reached the user's terminal ("Started a local Ray instance.",
            # a token-authentication WARNING): a local one says errors, a cluster warnings.
            options = {"include_dashboard": False, "log_to_driver": False,
                       "logging_level": logging.ERROR if address is None else logging.WARNING}
            if address is None:
                # A local instance sized to the sweep, as LocalExecutor is: trials at once
                # times their threads within this machine's cores (one trial where --threads
                # alone exceeds them), not cores trials of --threads each; --workers as given.
                trials = workers or max(1, _cores() // self.threads)
                options["num_cpus"] = trials * self.threads
            else:
                _check_reachable(address, named_by=named_by)
        try:
            if self._owned:
                # "local", not None: None joins the cluster a `ray start` on this machine
                # left its address for, and refuses num_cpus there.
                try:
                    ray.init(address=address or "local", **options)
                except ConnectionError as exc:  # no Ray there (a port that answers, "auto")
                    raise SweepFailure(join_failed(address or "local", named_by, exc)) from None
            resources = ray.cluster_resources()
            # Per trial: one GPU where the cluster has any (LocalExecutor.gpus counts them;
            # either is 0 for trials on CPUs).
            self.gpus = 1 if device != "cpu" and resources.get("GPU", 0) >= 1 else 0
            # Ray keeps a task no node can hold pending forever, saying so only in a log
            # the driver does not show: refused here, before any trial is marked running.
            nodes = ray.nodes()
            unfit = unfit_reason(nodes, self.threads, self.gpus)
            if unfit:
                raise SweepError(unfit)
        except BaseException:
            self.close()  # Ray shut down if ours, its SIGTERM handler taken out
            raise
        slots = trial_slots(nodes, self.threads, self.gpus)
        # A local instance never grows: trials beyond its slots would only queue in Ray,
        # shown 'running' in the sweep. A cluster may (autoscaling): --workers is kept.
        local = self._owned and address is None
        self._fixed = min(workers, slots) if workers and local else workers or local and slots
        self._live = LiveSlots(ray, self.threads, self.gpus, every_s=self.poll_s)
        # Stored with each running trial: says which cluster, and that the environment chose it.
        from_env = " (RAY_ADDRESS)" if named_by == "RAY_ADDRESS" else ""
        self.name = f"ray {address or 'local'}{from_env}"
        self._remote = ray.remote(num_cpus=self.threads, num_gpus=self.gpus,
                                  max_retries=0)(run_trial)

    @property
    def capacity(self) -> int:
        # A cluster's nodes come and go, and trials at once follow them: a node that joined
        # mid-sweep was left idle, and a lost one kept a trial queued in Ray, shown running.
        return self._fixed or self._live()

    def submit(self, task: dict):
        sent = Sent(task, self._remote.remote(task))
        self._outstanding[sent] = task.get("code")
        return sent

    def wait(self, handles: list) -> list[tuple]:
        """What finished, as LocalExecutor.wait; none (at once) where nodes joined."""
        while True:
            out = self._wait_once(handles, self.capacity)
            if out is not None:  # else every finished trial lost its node, and went again
                return out

    def _wait_once(self, handles: list, slots: int) -> list[tuple] | None:
        ray = self._ray
        unfit_since = None
        by_ref = {h.ref: h for h in handles}
        while True:
            # No overall timeout: a trial may train for hours. What never comes is a trial
            # no alive node can hold any more (the nodes that could have left): Ray keeps
            # it pending, silently. Asking the GCS for the nodes once per poll_s is cheap;
            # a node being restarted or replaced gets grace_s to come back.
            ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=self.poll_s)
            if ready:
                break
            if self.capacity > slots:  # nodes joined: the sweep may start more trials
                return []
            unfit = unfit_reason(ray.nodes(), self.threads, self.gpus)
            now = time.monotonic()
            if not unfit or unfit_since is None:
                unfit_since = now if unfit else None
            elif now - unfit_since >= self.grace_s:
                raise SweepFailure(f"the Ray cluster has lost the nodes that could run this "
                                 f"sweep's trials ({len(handles)} waiting, none placeable "
                                 f"for {now - unfit_since:.0f} s): {unfit}")
        out = []
        # Absent from an older Ray (or a stand-in): nothing is caught as a node's loss then.
        node_died = getattr(ray.exceptions, "NodeDiedError", ())
        for ref in ready:
            handle = by_ref[ref]
            sent = self._outstanding.pop(handle, None)
            try:
                out.append((handle, checked(ray.get(ref), sent)))
            except ray.exceptions.RayTaskError as exc:  # it raised: it is not our run_trial
                out.append((handle, exc if sent is None else not_run(exc, sent)))
            except node_died as exc:
                if handle.node_losses >= self.node_resends:
                    out.append((handle, exc))  # the sweep's retry, then 'failed'
                    continue
                # A node preempted, scaled down or restarted: the trial's network did
                # nothing wrong. It was charged an attempt, and failed at the second loss,
                # however good it was; sent again, uncharged, to a node that is alive.
                handle.node_losses += 1
                handle.ref = self._remote.remote(handle.task)
                self._outstanding[handle] = sent
                say_resent(handle, exc)
            except ray.exceptions.RayError as exc:  # worker lost (killed, out of memory)
                out.append((handle, exc))
        return out or None

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for handle in self._outstanding:
                self._ray.cancel(handle.ref, force=True)
        self._outstanding.clear()
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        if self._sigterm is not None:
            with contextlib.suppress(ValueError):  # not the main thread: not ours to set
                signal.signal(signal.SIGTERM, self._sigterm)


def _check_reachable(address: str, timeout_s: float = 10.0,
                     named_by: str = "--address") -> None:
    """Ray retries an unreachable HOST:PORT for minutes, saying little; try it first.
    ``named_by``: where the address came from (--address or RAY_ADDRESS), to undo it."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and the like: Ray's to resolve
    if host.startswith("[") and host.endswith("]"):  # IPv6, [::1]:6379
        host = host[1:-1]
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        where = "" if named_by == "--address" else f" (set in {named_by})"
        undo = address_undone(named_by)
        raise SweepFailure(f"cannot reach the Ray cluster at {address}{where} ({exc}): is its "
                           "head node running (ray start --head) and this address its GCS "
                           f"or client port? Or {undo} to start Ray here") from None


EXECUTORS = ("local", "ray")


def _check_windows_workers(workers: int | None) -> None:
    # Python's own limit there; its ValueError came only at the first trial.
    if sys.platform == "win32" and workers is not None and workers > WINDOWS_MAX_WORKERS:
        def asked(n: int) -> str:
            return as_given(f"--workers {n}", f"workers={n}")

        raise SweepError(f"{asked(workers)}: Windows runs at most {WINDOWS_MAX_WORKERS} worker "
                         f"processes; use {asked(WINDOWS_MAX_WORKERS)} or fewer")


def check_executor(kind: str, address: str | None = None, workers: int | None = None) -> None:
    """Refuse an executor that cannot run, naming it and the fix, before a sweep is created
    or reopened: :func:`make_executor` only meets it once the sweep's trials are stored,
    which would leave a new sweep behind that never trained."""
    import importlib.util

    if kind not in EXECUTORS:
        cli, python = " or ".join(EXECUTORS), " or ".join(map(repr, EXECUTORS))
        raise SweepError(f"unknown executor {kind!r}; choose "
                         f"{as_given(f'--executor {cli}', f'executor={python}')}")
    if kind == "local" and address:
        raise SweepError(f"{as_given('--address', 'address=')} names a Ray cluster: use it "
                         f"with {as_given('--executor ray', 'executor=' + repr('ray'))}")
    if kind == "local":
        _check_windows_workers(workers)
    if kind == "ray":
        try:
            found = importlib.util.find_spec("ray") is not None
        except (ImportError, ValueError):  # a broken or half-removed install
            found = False
        if not found:
            raise SweepFailure(ray_missing())
        address, named_by = ray_address(address)
        if address is not None:
            _check_reachable(address, named_by=named_by)


def make_executor(kind: str, *, workers: int | None = None, threads: int | None = None,
                  address: str | None = None, device: str = "auto"):
    if kind == "local":
        check_executor(kind, address)
        return LocalExecutor(workers, threads, device)
    if kind == "ray":  # RayExecutor checks Ray and the address itself, on its way in
        return RayExecutor(address, workers, threads, device)
    check_executor(kind, address)  # the name is unknown: said, with the choices
