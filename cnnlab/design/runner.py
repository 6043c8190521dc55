"""Sweeps: draw N networks from a design space, train each with the Trainer, store all.

::

    spec = SweepSpec(space="anynetx_a", macs=(5e6, 2e7), train={"epochs": 2})
    create_sweep("sweeps/a", spec, n=100)   # draws every trial, stores them 'pending'
    run_sweep("sweeps/a", workers=2)         # trains what is pending; resumable

Trial ``i`` is drawn from its own generator (seed, i, space) and trained with seed
``seed + i``, so a killed sweep resumes with exactly the trials it planned, a sweep
can be extended to more trials, and every executor gives the same results. Both
executors (local processes, Ray) call :func:`run_trial`, which never raises: it
returns 'done', 'failed' (with the error message) or 'interrupted'.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from cnnlab.design import spaces
from cnnlab.design.store import (
    DB_NAME,
    TRIAL_MODEL,
    SweepError,
    SweepSpec,
    TrialStore,
    check_train_fields,
    plan_trials,
)
from cnnlab.train.trainer import TrainingInterrupted

MAX_ATTEMPTS = 2  # a trial whose worker process dies is retried once, then 'failed'


class SweepInterrupted(RuntimeError):
    """Ctrl-C stopped the sweep; finished trials are stored, unfinished ones pending."""


# ---------------------------------------------------------------- data


_DATA_CACHE: dict = {}  # one dataset per process, loaded by its first trial


def trial_data(data: str, data_root: str | None, train_subset: int | None,
               resize: int | None = None):
    """The sweep's dataset, loaded once per process and cut to ``train_subset``."""
    key = (data, data_root, train_subset, resize)
    if key not in _DATA_CACHE:
        from cnnlab.data import DatasetSplits, ImageData
        from cnnlab.train import TrainConfig
        from cnnlab.train.run import load_training_data

        cfg = TrainConfig(model=TRIAL_MODEL, data=data, data_root=data_root, resize=resize)
        splits = load_training_data(cfg)
        if train_subset:
            train = ImageData(splits.train.images[:train_subset],
                              splits.train.labels[:train_subset])
            splits = DatasetSplits(splits.name, train, splits.test, splits.classes,
                                   f"{splits.source} (first {len(train)} training images)")
        _DATA_CACHE[key] = splits
    return _DATA_CACHE[key]


# ---------------------------------------------------------------- one trial


def worker_name() -> str:
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"{socket.gethostname()}:{os.getpid()}" + (f":gpu{gpu}" if gpu else "")


def run_trial(task: dict) -> dict:
    """Train one trial; never raises. ``task``: id, train (TrainConfig fields), data
    (trial_data arguments), threads. Returns the row fields for the store."""
    start = time.perf_counter()
    out = {"id": task["id"], "worker": worker_name()}
    try:
        import torch

        if task.get("threads"):
            torch.set_num_threads(int(task["threads"]))
        from rich.console import Console

        from cnnlab.train import TrainConfig
        from cnnlab.train.run import train

        cfg = TrainConfig.from_dict(task["train"])
        data = trial_data(**task["data"])
        # Silent: with K workers, K interleaved per-epoch logs help nobody; the store
        # and the sweep's own progress line say what finished.
        result = train(cfg, data=data, console=Console(quiet=True), write_run_dir=False)
        acc = float(result.final["test_acc"])
        out.update(status="done", error_pct=100.0 * (1.0 - acc), test_acc=acc,
                   best_test_acc=float(result.best_test_acc),
                   train_time_s=float(result.train_time_s), epochs=int(result.final["epoch"]))
    except (KeyboardInterrupt, TrainingInterrupted):  # Ctrl-C reached this worker too
        out.update(status="interrupted")
    except Exception as exc:  # a broken trial is a result, not the end of the sweep
        where = traceback.extract_tb(exc.__traceback__)[-1]
        out.update(status="failed", message=f"{type(exc).__name__}: {exc} "
                   f"({os.path.basename(where.filename)}:{where.lineno})"[:2000])
    out["wall_time_s"] = time.perf_counter() - start
    return out


# ---------------------------------------------------------------- creating a sweep


def fill_input_shape(spec: SweepSpec) -> SweepSpec:
    """``spec`` with image_size, in_channels, num_classes read off its data (a copy)."""
    if None not in (spec.image_size, spec.in_channels, spec.num_classes):
        return spec
    data = trial_data(spec.data, spec.data_root, spec.train_subset, spec.train.get("resize"))
    return replace(spec, image_size=spec.image_size or spec.train.get("resize")
                   or data.image_size[0], in_channels=spec.in_channels or data.channels,
                   num_classes=spec.num_classes or data.num_classes)


def check_device(name: str) -> None:
    """Refuse a device this machine cannot train on, naming it, before any trial is run:
    otherwise every trial fails on it, one by one."""
    from cnnlab.train import device

    try:
        device.select_device(name)
    except ValueError as exc:  # select_device's ConfigError names the device
        raise SweepError(f"{exc}. A sweep's device is set with --device (also with "
                         "--resume)") from None


def create_sweep(directory, spec: SweepSpec, n: int) -> dict[str, int]:
    """Create the sweep in ``directory`` (or reopen the same one) with at least ``n`` trials.

    Every trial is drawn and stored before training starts. Reopening with a different
    spec is an error; a larger ``n`` draws the extra trials; another ``train["device"]``
    or ``data_root`` moves the sweep there. Returns status counts.
    """
    from cnnlab.train import TrainConfig
    from cnnlab.train.runlog import environment_info

    spaces.check_space(spec.space)
    if n < 1:
        raise SweepError(f"a sweep needs n >= 1 trials, got {n}")
    if spec.train_subset is not None and spec.train_subset < 1:
        raise SweepError(f"train_subset must be >= 1 training images (or None for all of "
                         f"them), got {spec.train_subset}")
    if not (Path(directory) / DB_NAME).exists():
        # New sweeps only: one stored before this check can still be finished.
        check_train_fields(spec.train)
    check_device(spec.train.get("device", "auto"))
    spec = fill_input_shape(spec)
    TrainConfig.from_dict(spec.train_config({}, 0))  # bad --set values fail here, not later
    if not (Path(directory) / DB_NAME).exists():
        plan_trials(spec, 0, 1)  # a band no network falls in: refused before any file is made
    with TrialStore(directory, create=True) as store:
        return store.init_sweep(spec, n, created=environment_info())


# ---------------------------------------------------------------- running a sweep


def _data_args(spec: SweepSpec) -> dict:
    return {"data": spec.data, "data_root": spec.data_root,
            "train_subset": spec.train_subset, "resize": spec.train.get("resize")}


def _task(trial: dict, spec: SweepSpec, threads: int | None) -> dict:
    return {"id": trial["id"], "threads": threads,
            "train": spec.train_config(trial["config"], trial["seed"]),
            "data": _data_args(spec)}


LOCK_NAME = ".lock"


_HELD: dict[Path, int] = {}  # sweep folders this process holds the lock of (re-entrant)


@contextlib.contextmanager
def sweep_lock(directory) -> Iterator[None]:
    """Hold the sweep's lock: one driver per sweep. A second one would take the same
    pending trials and reset the first one's running ones, training them twice; so it is
    refused, naming the holder. Re-entrant within a process (the CLI holds it around
    reopening and running the sweep; :func:`run_sweep` takes it too)."""
    path = Path(directory).resolve() / LOCK_NAME
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    try:
        import fcntl
    except ImportError:  # not POSIX (Windows): no lock
        yield
        return
    if not path.parent.is_dir():  # no sweep yet: nothing to guard (nor to create here)
        yield
        return
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SweepError(f"{directory} is being trained by {holder}: one `cnnlab design "
                             "run` per sweep (wait for it, or stop it; then run this again "
                             "to finish the sweep)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{worker_name()}\n")  # host:pid
        handle.flush()
        _HELD[path] = 1
        try:
            yield
        finally:
            del _HELD[path]
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_sweep(directory, *, executor: str = "local", workers: int | None = None,
              threads: int | None = None, address: str | None = None,
              on_result: Callable[[dict], None] | None = None) -> dict[str, int]:
    """Train every pending trial of the sweep in ``directory``; return status counts.

    Trials left 'running' by a killed sweep start again; 'done' and 'failed' trials
    are not repeated (``TrialStore.retry_failed`` puts failed ones back). Each result is
    committed to the store as it arrives, then passed to ``on_result`` (the stored row).
    Raises :class:`SweepInterrupted` on Ctrl-C, after putting unfinished trials back to
    'pending', and :class:`SweepError` for a device this machine cannot train on.
    """
    with sweep_lock(directory), TrialStore(directory) as store:
        spec = store.spec()
        store.reset_running()
        todo = store.trials("pending")
        if not todo:
            return store.counts()
        check_device(spec.train.get("device", "auto"))
        if executor == "local" or address is None:
            # The data the trials train on loads here first: missing, every trial would
            # fail on it one by one (a remote cluster's nodes may hold it where this
            # machine does not).
            trial_data(**_data_args(spec))
        pool = make_executor(executor, workers=workers, threads=threads, address=address,
                             device=spec.train.get("device", "auto"))
        if not (executor == "local" and pool.capacity == 1):
            _DATA_CACHE.clear()  # trials load it in their own processes: not kept here
        inflight: dict = {}
        alone: set[int] = set()  # trials to run with nothing beside them (see below)
        interrupted = False
        try:
            while inflight or (todo and not interrupted):
                while todo and not interrupted and len(inflight) < pool.capacity:
                    if alone & set(inflight.values()) or (todo[0]["id"] in alone and inflight):
                        break  # a suspect runs by itself, so its death is its own
                    trial = todo.pop(0)
                    store.mark_running(trial["id"], pool.name)
                    inflight[pool.submit(_task(trial, spec, pool.threads))] = trial["id"]
                finished = pool.wait(list(inflight))
                lost = [inflight[h] for h, o in finished if isinstance(o, BrokenProcessPool)]
                if len(lost) > 1:
                    # One dead worker process breaks the local pool and loses every trial
                    # in it: which one killed it is unknown. None is charged an attempt;
                    # each runs again by itself, where a death is its own.
                    store.uncount_attempt(lost)
                    store.mark_pending(lost)
                    alone.update(lost)
                    todo[:0] = [store.trial(i) for i in lost]
                    for handle, _ in finished:
                        if inflight[handle] in lost:
                            del inflight[handle]
                for handle, outcome in finished:
                    if handle not in inflight:
                        continue
                    trial_id = inflight.pop(handle)
                    retry, stop = _store_outcome(store, trial_id, outcome, on_result)
                    interrupted = interrupted or stop
                    if retry:
                        todo.append(store.trial(trial_id))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if inflight:  # the next run trains them again, from the start
                if interrupted:  # stopped, not failed: uncharged
                    store.uncount_attempt(list(inflight.values()))
                store.mark_pending(list(inflight.values()))
            pool.close(cancel=bool(inflight) or interrupted)
        if interrupted:
            raise SweepInterrupted(f"sweep stopped; finished trials are stored. Continue with: "
                                   f"cnnlab design run --resume {directory}")
        return store.counts()


def _store_outcome(store: TrialStore, trial_id: int, outcome,
                   on_result) -> tuple[bool, bool]:
    """Commit one outcome. Returns (retry this trial, stop the sweep)."""
    if isinstance(outcome, BaseException):  # the worker process died under the trial
        attempts = store.trial(trial_id)["attempts"]
        if attempts < MAX_ATTEMPTS:
            store.mark_pending([trial_id])
            return True, False
        store.record(trial_id, "failed", message=f"worker process died {attempts} times "
                     f"(out of memory?): {type(outcome).__name__}: {outcome}"[:2000])
    elif outcome["status"] == "interrupted":
        store.uncount_attempt([trial_id])  # stopped, not failed
        store.mark_pending([trial_id])
        return False, True
    else:
        fields = {k: v for k, v in outcome.items() if k not in ("id", "status")}
        store.record(trial_id, outcome["status"], **fields)
    if on_result is not None:
        on_result(store.trial(trial_id))
    return False, False


# ---------------------------------------------------------------- executors


def _gpu_count(device: str) -> int:
    import torch

    if device not in ("auto", "cuda") and not device.startswith("cuda"):
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _init_worker(threads: int, gpu_queue) -> None:
    # Runs first in every worker process, before any CUDA call: pin one GPU, size the
    # thread pool, and make sure a worker never outlives its sweep.
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


class LocalExecutor:
    """K worker processes (``spawn``), one per GPU or CPU slot; K = 1 trains in-process.

    Each worker loads the dataset once (the first trial it runs) and uses
    ``threads`` torch threads (default: cores / K); with GPUs, worker k owns GPU
    k mod (number of GPUs) through CUDA_VISIBLE_DEVICES.
    """

    def __init__(self, workers: int | None = None, threads: int | None = None,
                 device: str = "auto"):
        self.gpus = _gpu_count(device)
        self.capacity = workers or max(1, self.gpus)
        if self.capacity < 1:
            raise SweepError(f"--workers must be >= 1, got {workers}")
        self.threads = threads or max(1, (os.cpu_count() or 1) // self.capacity)
        self.name = f"local x{self.capacity}"
        self._pool = None

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

        if self.capacity == 1:  # no process to start, nothing to pickle
            future: Future = Future()
            future.set_result(run_trial(task))
            return future
        if self._pool is None:
            self._pool = self._start()
        try:
            return self._pool.submit(run_trial, task)
        except BrokenProcessPool:  # it broke since the last wait: a fresh one
            self.close(cancel=True)
            self._pool = self._start()
            return self._pool.submit(run_trial, task)

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
        return [(f, f.exception() or f.result()) for f in done]

    def close(self, cancel: bool = False) -> None:
        if self._pool is None:
            return
        # ProcessPoolExecutor cannot stop running tasks; terminating its processes
        # (SIGTERM: the Trainer stops at the end of its step) is the only way.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        if cancel:
            for p in processes:
                p.terminate()
            for p in processes:
                p.join(timeout=10)
        self._pool = None


RAY_MISSING = ("the Ray executor needs Ray, which is not installed: pip install 'cnnlab[ray]' "
               "(or pip install 'ray[default]'), or use --executor local")


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError(RAY_MISSING) from None
    return ray


class RayExecutor:
    """Trials as Ray tasks: on the cluster at ``address``, or a local Ray started here.

    Each task asks for ``threads`` CPUs and, when the cluster has GPUs (and the device
    is not cpu), one GPU. Ray does not retry tasks itself: a lost worker comes back
    as an exception and the sweep decides (retry once, then 'failed'). Every node
    needs cnnlab installed.
    """

    def __init__(self, address: str | None = None, workers: int | None = None,
                 threads: int | None = None, device: str = "auto"):
        ray = self._ray = _import_ray()
        self.threads = threads or 1
        self._owned = not ray.is_initialized()
        if self._owned:
            options = {"include_dashboard": False, "log_to_driver": False}
            if address is None:  # a local instance sized to the sweep
                options["num_cpus"] = (workers or os.cpu_count() or 1) * self.threads
            else:
                _check_reachable(address)
            ray.init(address=address, **options)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
        slots = gpus or max(1, int(resources.get("CPU", 1) // self.threads))
        self.capacity = workers or slots
        self.name = f"ray {address or 'local'}"
        self._remote = ray.remote(num_cpus=self.threads, num_gpus=1 if gpus else 0,
                                  max_retries=0)(run_trial)
        self._outstanding: set = set()

    def submit(self, task: dict):
        ref = self._remote.remote(task)
        self._outstanding.add(ref)
        return ref

    def wait(self, handles: list) -> list[tuple]:
        ray = self._ray
        ready, _ = ray.wait(handles, num_returns=1)
        out = []
        for ref in ready:
            self._outstanding.discard(ref)
            try:
                out.append((ref, ray.get(ref)))
            except ray.exceptions.RayError as exc:  # worker or node lost
                out.append((ref, exc))
        return out

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for ref in self._outstanding:
                self._ray.cancel(ref, force=True)
        self._outstanding.clear()
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Ray retries an unreachable HOST:PORT for minutes, saying little; try it first."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and the like: Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise SweepError(f"cannot reach the Ray cluster at {address} ({exc}): is its head "
                         "node running (ray start --head) and this address its GCS or "
                         "client port? Or leave out --address to start Ray here") from None


EXECUTORS = ("local", "ray")


def make_executor(kind: str, *, workers: int | None = None, threads: int | None = None,
                  address: str | None = None, device: str = "auto"):
    if kind == "local":
        if address:
            raise SweepError("--address names a Ray cluster: use it with --executor ray")
        return LocalExecutor(workers, threads, device)
    if kind == "ray":
        return RayExecutor(address, workers, threads, device)
    raise SweepError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
