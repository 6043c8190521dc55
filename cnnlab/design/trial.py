"""One trial of a sweep: its data (loaded once per process) and its training.

Both executors (:mod:`cnnlab.design.executors`) run :func:`run_trial` in their worker
processes, so it lives apart from the driver (:mod:`cnnlab.design.runner`). It never
raises: it returns 'done', 'failed' (with the error message), 'interrupted', or
'refused' (untrained: this process's code is not the driver's, or it cannot load the
sweep's data).
"""

from __future__ import annotations

import os
import socket
import time
import traceback

from cnnlab.design.sweep_spec import TRIAL_MODEL
from cnnlab.train.outcome import TrainingDiverged, TrainingInterrupted

_DATA_CACHE: dict = {}  # one dataset per process, loaded by its first trial


def forget_data() -> None:
    """Let go of the datasets this process holds (the driver's, once checked)."""
    _DATA_CACHE.clear()


def trial_data(data: str, data_root: str | None, train_subset: int | None,
               resize: int | None = None):
    """The sweep's dataset, loaded once per process and cut to ``train_subset``."""
    key = (data, data_root, train_subset, resize)
    if key not in _DATA_CACHE:
        import dataclasses

        from cnnlab.train import TrainConfig
        from cnnlab.train.run import load_training_data
        from cnnlab.train.run_data import training_subset

        cfg = TrainConfig(model=TRIAL_MODEL, data=data, data_root=data_root, resize=resize)
        splits = load_training_data(cfg)
        if train_subset:  # as a run's train_subset cuts it (a prefix missing classes: said)
            cut = training_subset(splits, train_subset)
            splits = dataclasses.replace(cut, source=f"{splits.source} (first "
                                                     f"{len(cut.train)} training images)")
        _DATA_CACHE[key] = splits
    return _DATA_CACHE[key]


def worker_name() -> str:
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"{socket.gethostname()}:{os.getpid()}" + (f":gpu{gpu}" if gpu else "")


def _code_refused(task: dict, out: dict) -> bool:
    """Put this process's code fingerprint in ``out``; True, with ``out`` 'refused' and
    why, where it is not the driver's (``task["code"]``). A driver older than the check
    sends none, and gets none back: it refuses fields it does not know."""
    if task.get("code") is None:
        return False
    from cnnlab.design.code_check import code_fingerprint, code_mismatch

    out["code"] = code_fingerprint()
    refused = code_mismatch(task["code"], out["code"], out["worker"])
    if refused:
        out.update(status="refused", message=refused)
    return refused is not None


def _node_data(task: dict, out: dict):
    """The sweep's data as this process loads it, or None with ``out`` 'refused' and why.

    Every trial of a sweep trains on the same data, so a process that cannot load it is
    not a trial's failure but its node's: on a Ray cluster each node reads the data from
    its own disk, at the driver's path, and a node without it failed every trial it was
    given, one after another (most of a sweep: it fails them fast), each stored 'failed'
    as if its network were at fault. 'refused' puts the trial back and stops the sweep,
    naming the node (cnnlab.design.runner)."""
    try:
        return trial_data(**task["data"])
    except Exception as exc:  # whatever it is, it is the node's, not the network's
        spec = task["data"]
        where = (spec.get("data_root") or (spec["data"] if spec["data"].startswith("folder:")
                 else "the places cnnlab looks by default ($CNNLAB_DATA, the cache, "
                 "/usr/share/datasets)"))
        out.update(status="refused", message=(
            f"{out['worker']} cannot load the sweep's data, so it trained none of its "
            f"trials: {type(exc).__name__}: {exc}\nEach node of a Ray cluster (each "
            f"worker process here) reads the data itself, from {where}: put the same files "
            "there on every node (or on a mount they share), or give --data-root a folder "
            "that every node has (with --resume: where the data is now)")[:2000])
        return None


def run_trial(task: dict) -> dict:
    """Train one trial; never raises. ``task``: id, train (TrainConfig fields), data
    (trial_data arguments), threads, code (the driver's code fingerprint). Returns the
    row fields for the store, with this process's fingerprint as ``code``; status
    'refused', not trained, where its code is not the driver's."""
    from cnnlab.train.device import torch_threads  # loads torch: not at import

    start = time.perf_counter()
    out = {"id": task["id"], "worker": worker_name()}
    try:
        if _code_refused(task, out):  # before any training: other code, other numbers
            out["wall_time_s"] = time.perf_counter() - start
            return out
        # Put back after: a trial run in the caller's own process (one inline worker)
        # must not leave it with the trial's thread count.
        with torch_threads(int(task["threads"]) if task.get("threads") else None):
            from rich.console import Console

            from cnnlab.train import TrainConfig
            from cnnlab.train.run import train

            cfg = TrainConfig.from_dict(task["train"])
            data = _node_data(task, out)
            if data is None:  # this node cannot load the data: 'refused', said why
                out["wall_time_s"] = time.perf_counter() - start
                return out
            # Silent: with K workers, K interleaved per-epoch logs help nobody; the
            # store and the sweep's own progress line say what finished.
            result = train(cfg, data=data, console=Console(quiet=True), write_run_dir=False)
        acc = float(result.final["test_acc"])
        out.update(status="done", error_pct=100.0 * (1.0 - acc), test_acc=acc,
                   best_test_acc=float(result.best_test_acc),
                   train_time_s=float(result.train_time_s), epochs=int(result.final["epoch"]))
    except (KeyboardInterrupt, TrainingInterrupted):  # Ctrl-C reached this worker too
        out.update(status="interrupted")
    except TrainingDiverged as exc:
        # Its advice is a run's (--clip-grad-norm, --lr): neither is an option of a sweep,
        # whose recipe --resume cannot change; --retry-failed trains it the same way again.
        where = str(exc).split("; stopping")[0]
        out.update(status="failed", message=(
            f"{DIVERGED}: {where} (lr {task['train'].get('lr')}): the sweep's recipe "
            "diverges on this network; trained the same way again (--retry-failed) it would "
            "again. Try a new sweep (another --out) with a lower --lr, or with --set "
            "clip_grad_norm=1.0"
            )[:2000])
    except Exception as exc:  # a broken trial is a result, not the end of the sweep
        where = traceback.extract_tb(exc.__traceback__)[-1]
        out.update(status="failed", message=f"{type(exc).__name__}: {exc} "
                   f"({os.path.basename(where.filename)}:{where.lineno})"[:2000])
    out["wall_time_s"] = time.perf_counter() - start
    return out


# How a diverged trial's message begins (run_trial): --retry-failed would train it the same
# way and see it diverge again, which `design run` and `design analyze` tell apart.
DIVERGED = "TrainingDiverged"


def all_diverged(failed: list[dict]) -> bool:
    """Whether every one of these failed trials (a store's rows) diverged, and there is one."""
    return bool(failed) and all(str(r.get("message") or "").startswith(DIVERGED)
                                for r in failed)
