"""Sweeps: draw N networks from a design space, train each with the Trainer, store all.

::

    spec = SweepSpec(space="anynetx_a", macs=(5e6, 2e7), train={"epochs": 2})
    create_sweep("sweeps/a", spec, n=100)   # draws every trial, stores them 'pending'
    run_sweep("sweeps/a", workers=2)         # trains what is pending; resumable

Trial ``i`` is drawn from its own generator (seed, i, space) and trained with seed
``seed + i``, so a killed sweep resumes with exactly the trials it planned, a sweep
can be extended to more trials, and every executor gives the same results (on CPUs,
for the same torch thread count: the sweep records its count). Both executors
(:mod:`cnnlab.design.executors`: local processes, Ray) run
:func:`cnnlab.design.trial.run_trial`; this module is the driver."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnlab.design import spaces
from cnnlab.design.code_check import code_fingerprint, code_mismatch, describe
from cnnlab.design.executors import SweepFailure, fits_the_cores, make_executor, ray_address
from cnnlab.design.folders import others_files
from cnnlab.design.store import DB_NAME, StoreError, TrialStore
from cnnlab.design.sweep_lock import (  # noqa: F401 (the CLI and callers import these here)
    LOCK_NAME,
    driver_unknown,
    sweep_driver,
    sweep_lock,
)
from cnnlab.design.sweep_progress import notebook_progress
from cnnlab.design.sweep_spec import SweepError, SweepSpec, check_train_fields, plan_trials
from cnnlab.design.trial import forget_data, trial_data
from cnnlab.interrupts import SigintRecorder, sigterm_as_interrupt
from cnnlab.shell_words import shell_quote  # a folder with spaces pasted whole

MAX_ATTEMPTS = 2  # a trial whose worker process dies is retried once, then 'failed'


class SweepInterrupted(RuntimeError):
    """Ctrl-C stopped the sweep; finished trials are stored, unfinished ones pending."""


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


def check_sweep_folder(directory) -> None:
    """Refuse to start a sweep in a folder that already holds something else (a training
    run, another tool's output): its trials.sqlite would be mixed into files it does not
    own. A missing or empty folder, or one holding a sweep, is fine."""
    directory = Path(directory)
    if not directory.is_dir() or (directory / DB_NAME).exists():
        return  # a file there is named by TrialStore; a sweep is reopened
    # .lock: left by a driver of an older cnnlab that was refused here; nothing of the user's.
    shown = others_files(directory, own=(LOCK_NAME,))
    if shown:
        raise SweepError(f"{directory} already holds other files ({shown}) and is not a design "
                         f"sweep (no {DB_NAME}): a sweep would be mixed into them. Pick another "
                         "--out (a new or empty folder), or --resume a sweep's folder")


def create_sweep(directory: str | Path, spec: SweepSpec, n: int) -> dict[str, int]:
    """Create the sweep in ``directory`` (or reopen the same one) with at least ``n`` trials.

    Every trial is drawn and stored before training starts. Reopening with a different
    spec is an error; a larger ``n`` draws the extra trials; another ``train["device"]``
    or ``data_root`` moves the sweep there. A folder holding other files and no sweep is
    refused (:func:`check_sweep_folder`). Returns status counts.
    """
    from cnnlab.train import TrainConfig
    from cnnlab.train.machine import environment_info
    from cnnlab.train.run_files import absolute_data_paths

    spaces.check_space(spec.space)
    if n < 1:
        raise SweepError(f"a sweep needs n >= 1 trials, got {n}")
    # Trial i trains with seed + i, stored in trials.sqlite as a signed 64-bit INTEGER: a
    # seed the last trial's overflows failed there with a traceback, the folder half made.
    if not 0 <= spec.seed <= 2**63 - n:
        raise SweepError(f"seed {spec.seed}: trial i trains with seed + i, so with {n} "
                         f"trials the seed must be from 0 to {2**63 - n}")
    if spec.train_subset is not None and spec.train_subset < 1:
        raise SweepError(f"train_subset must be >= 1 training images (or None for all of "
                         f"them), got {spec.train_subset}")
    check_sweep_folder(directory)
    if not (Path(directory) / DB_NAME).exists():
        # New sweeps only: one stored before this check can still be finished.
        check_train_fields(spec.train)
    check_device(spec.train.get("device", "auto"))
    spec = fill_input_shape(absolute_data_paths(spec))  # as runs store them
    trial = TrainConfig.from_dict(spec.train_config({}, 0))  # bad --set values fail here
    if not (Path(directory) / DB_NAME).exists():
        trial.check_new_run()  # what a new run's plan must hold (warm-up < epochs)
        plan_trials(spec, 0, 1)  # a band no network falls in: refused before any file is made
    with TrialStore(directory, create=True) as store:
        return store.init_sweep(spec, n, created=environment_info())


# ---------------------------------------------------------------- running a sweep


def _data_args(spec: SweepSpec) -> dict:
    return {"data": spec.data, "data_root": spec.data_root,
            "train_subset": spec.train_subset, "resize": spec.train.get("resize")}


def _task(trial: dict, spec: SweepSpec, threads: int | None,
          code: dict | None = None) -> dict:
    """What a worker needs to train ``trial``; ``code``: the driver's fingerprint, which
    the worker's must match (design/code_check.py)."""
    return {"id": trial["id"], "threads": threads,
            "train": spec.train_config(trial["config"], trial["seed"]),
            "data": _data_args(spec), "code": code}


def run_sweep(directory: str | Path, *, executor: str = "local", workers: int | None = None,
              threads: int | None = None, address: str | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, int]:
    """Train every pending trial of the sweep in ``directory``; return status counts.

    ``executor``: "local" (worker processes) or "ray" (at ``address``; default
    $RAY_ADDRESS if set, else a Ray started here). ``workers``: trials at once (default:
    local, one per GPU, else 1; ray, as many as the nodes hold). ``threads``: torch CPU
    threads per trial (default: what the sweep's trials trained with; for a new sweep,
    cores / workers, 1 on a Ray cluster).

    Trials left 'running' by a killed sweep start again; 'done' and 'failed' trials
    are not repeated (``TrialStore.retry_failed`` puts failed ones back). Each result is
    committed to the store as it arrives, then passed to ``on_result`` (the stored row;
    without one, a notebook shows a line of the trials finished).
    Raises :class:`SweepInterrupted` on Ctrl-C, after putting unfinished trials back to
    'pending', and :class:`SweepError` for a device this machine cannot train on or an
    executor that gives up mid-sweep (saying how to continue: the command, and called
    from Python, ``run_sweep(...)`` too, as the Ctrl-C message does). Trials a stopped
    sweep leaves unfinished are not charged the attempt: they go back to 'pending' as
    they were.

    A worker whose code is not this process's (another cnnlab or torch on a Ray node, or
    a cnnlab too old to say) trains nothing: its trial goes back to 'pending', no more
    trials start, and once the running ones are stored :class:`SweepFailure` names the
    worker, both fingerprints and the fix.
    """
    with sweep_lock(directory), TrialStore(directory) as store:
        spec = store.spec()
        store.reset_running()
        todo = store.trials("pending")
        if not todo:
            return store.counts()
        pool, code = _start_executor(store, spec, executor, workers, threads, address)
        # How to go on once stopped, said whenever the sweep stops before its end: the
        # command, and from Python (a notebook) run_sweep(...) too.
        chosen = spec.train.get("threads")  # --set threads=N: what the trials' Trainer uses
        threads_kept = None if pool.gpus or chosen else store.meta().get("threads")
        go_on = resume_command(directory, executor, address, threads_kept, workers) + \
            python_resume_words(directory, executor, address, threads_kept, workers)
        if on_result is None:  # a notebook's cell shows the trials as they finish
            on_result = notebook_progress(directory, store.counts(), pool.capacity)
        driver = _Driver(store, pool, spec, code, todo, on_result)
        # SIGTERM (`kill`, `timeout`, a scheduler) stops a sweep as Ctrl-C does: its
        # unfinished trials back to 'pending' and the resume command said. It killed a
        # driver waiting on worker processes outright, leaving their trials 'running', an
        # attempt charged to each, and nothing said.
        put_back_sigterm = sigterm_as_interrupt()
        store_failed = False
        try:
            driver.run()
            if driver.refused and not driver.interrupted:
                raise SweepFailure(f"stopped: {driver.refused}")
        except KeyboardInterrupt:
            driver.interrupted = True
        except SweepError as exc:  # the executor gave up mid-sweep (a Ray cluster's nodes
            # gone), or the store could not be written (locked, a full disk)
            store_failed = isinstance(exc, StoreError)
            raise type(exc)(f"{exc}. Finished trials are stored; once that is fixed, "
                            f"continue with: {go_on}") from None
        finally:
            put_back_sigterm()  # a second one ends the cleanup: the default again
            # A second Ctrl-C (pressed twice, impatient) is held until the cleanup is done:
            # it cut it short, leaving trials 'running' and charged, workers that outlive
            # their SIGTERM unkilled, and a traceback for "interrupted". It takes at most
            # the pool's grace period; the sweep then ends as interrupted.
            with SigintRecorder() as sigint, contextlib.suppress(KeyboardInterrupt), \
                    sigint.deferred(on_held=_say_cleanup_goes_on):
                _clean_up(store, pool, cancel=bool(driver.inflight) or driver.interrupted,
                          store_failed=store_failed)
        if driver.interrupted:
            # How far it got, not "finished trials are stored" when none had finished.
            c = store.counts()
            raise SweepInterrupted(f"sweep stopped with {c['done'] + c['failed']} of "
                                   f"{sum(c.values())} trials finished ({c['done']} done, "
                                   f"{c['failed']} failed), all stored. Continue with: "
                                   f"{go_on}")
        return store.counts()


def _start_executor(store: TrialStore, spec: SweepSpec, executor: str, workers: int | None,
                    threads: int | None, address: str | None) -> tuple[Any, dict]:
    """What would fail every trial alike refused first (the device, the data), then the
    executor started, its thread count and how it runs recorded in the sweep. Returns
    the executor and this code's fingerprint, which every trial is sent with."""
    check_device(spec.train.get("device", "auto"))
    if executor == "local" or ray_address(address)[0] is None:
        # The data the trials train on loads here first: missing, every trial would
        # fail on it one by one (a remote cluster's nodes may hold it where this
        # machine does not).
        trial_data(**_data_args(spec))
    code = code_fingerprint()  # sent with every trial, and checked in every result
    _warn_of_other_code(store, code)
    recorded = store.meta().get("threads")
    if threads is None and not spec.train.get("threads") and recorded \
            and fits_the_cores(recorded, workers):
        # Not told: as many as its trials trained with (a CPU's numbers depend on it), so
        # a bare `--resume DIR`, which the help offers, repeats them; cores / workers gave
        # another count and a warning that the trials would no longer match. Not where
        # the workers would then ask more threads than there are cores (4 x 16 on 16):
        # cores / workers there, and the warning names --threads.
        threads = recorded
    pool = make_executor(executor, workers=workers, threads=threads, address=address,
                         device=spec.train.get("device", "auto"))
    if not (executor == "local" and pool.capacity == 1):
        forget_data()  # trials load it in their own processes: not kept here
    chosen = spec.train.get("threads")  # --set threads=N: what the trials' Trainer uses
    if not pool.gpus:
        _keep_thread_count(store, chosen or pool.threads, pool.capacity)
    # How it runs, for `design status` to say how to continue it once stopped.
    store.set_meta({"run_with": {"executor": executor, "address": address,
                                 "workers": workers}})
    return pool, code


class _Driver:
    """Keeps the executor's slots full of pending trials and stores each outcome as it
    comes back. Its state is kept on it, not in a function's locals, so that after a
    Ctrl-C anywhere in :meth:`run` the cleanup still knows what was in flight."""

    def __init__(self, store: TrialStore, pool, spec: SweepSpec, code: dict,
                 todo: list[dict], on_result) -> None:
        self.store, self.pool, self.spec, self.code = store, pool, spec, code
        self.todo = todo  # trials to start, in order
        self.on_result = on_result
        self.inflight: dict = {}  # executor handle -> trial id
        self.alone: set[int] = set()  # trials to run with nothing beside them (_collect)
        self.interrupted = False  # a trial stopped by Ctrl-C, or Ctrl-C here: no new trial
        self.refused: str | None = None  # why a worker's code may not train it: no new trial

    def run(self) -> None:
        """Until every trial is stored, or none may start and the running ones are."""
        while self.inflight or (self.todo and not self.interrupted and not self.refused):
            self._start_trials()
            self._store(self._collect())

    def _start_trials(self) -> None:
        pool, inflight = self.pool, self.inflight
        while self.todo and not (self.interrupted or self.refused) \
                and len(inflight) < pool.capacity:
            if self.alone & set(inflight.values()) or (
                    self.todo[0]["id"] in self.alone and inflight):
                break  # a suspect runs by itself, so its death is its own
            trial = self.todo.pop(0)
            self.store.mark_running(trial["id"], pool.name)
            inflight[pool.submit(_task(trial, self.spec, pool.threads, self.code))] = \
                trial["id"]

    def _collect(self) -> list[tuple[int, Any]]:
        """(trial id, outcome) of the trials that came back, once some have."""
        finished = [(self.inflight.pop(h), o) for h, o in self.pool.wait(list(self.inflight))]
        lost = [i for i, o in finished if isinstance(o, BrokenProcessPool)]
        if len(lost) > 1:
            # One dead worker process breaks the local pool and loses every trial
            # in it: which one killed it is unknown. None is charged an attempt;
            # each runs again by itself, where a death is its own.
            self.store.put_back(lost)
            self.alone.update(lost)
            self.todo[:0] = [self.store.trial(i) for i in lost]
            finished = [(i, o) for i, o in finished if i not in lost]
        return finished

    def _store(self, finished: list[tuple[int, Any]]) -> None:
        for trial_id, outcome in finished:
            why = _other_code(outcome)
            if why:  # untrained, or trained by other code: not stored, not charged
                self.store.put_back([trial_id])
                if not self.refused and self.inflight:
                    _say_stopping(why, len(self.inflight))
                self.refused = self.refused or why
                continue
            retry, stop = _store_outcome(self.store, trial_id, outcome, self.on_result)
            self.interrupted = self.interrupted or stop
            if retry:
                self.todo.append(self.store.trial(trial_id))


def _say_cleanup_goes_on() -> None:
    """Said to a Ctrl-C held during the cleanup, which it would otherwise meet in silence."""
    print("Ctrl-C: putting unfinished trials back and stopping the workers first (a few "
          "seconds at most); the sweep then stops", file=sys.stderr, flush=True)


def _clean_up(store: TrialStore, pool, cancel: bool, store_failed: bool = False) -> None:
    """Trials marked 'running' with no outcome stored (in flight, or finished but not yet
    stored) were abandoned by a loop that ended early (Ctrl-C, the executor giving up, an
    error here), not lost by their own worker: back to pending with their attempt given
    back, so a resumed sweep still gives each its retry. (A driver killed outright cannot
    do this: the next run's reset_running keeps their attempts, as one of them may have
    been what killed it.) Then the workers are stopped. After the store itself failed
    (``store_failed``), tried once without waiting on its lock, and its error let go: the
    same error again (a lock waited out twice) replaced the sweep's, which says how to go
    on."""
    try:
        with contextlib.suppress(StoreError) if store_failed else contextlib.nullcontext():
            if store_failed:
                store.conn.execute("PRAGMA busy_timeout = 0")
            store.put_back([t["id"] for t in store.trials("running")])
    finally:  # a store that cannot be written (disk full) must not keep workers alive
        pool.close(cancel=cancel)


def _keep_thread_count(store: TrialStore, threads: int, at_once: int) -> None:
    """Record the torch threads a sweep's CPU trials train with, and warn a run that trains
    them with another count: a CPU's sums are split by it, so a trial's numbers depend on
    it (44.2%, 49.2% error with 2 threads; 40.0%, 47.9% with 1), and a sweep would mix
    trials a rerun cannot repeat. ``at_once``: the trials run at once."""
    recorded = store.meta().get("threads")
    if recorded is None:
        store.set_meta({"threads": threads})
    elif recorded != threads:
        from cnnlab.notices import SetupWarning, warn_user

        fewer = "" if fits_the_cores(recorded, at_once) else (
            f", with fewer --workers than {at_once} (more threads than cores)" if at_once > 1
            else " (more threads than this machine has cores: slower, the numbers alike)")
        warn_user(f"{store.directory}: its trials trained with {recorded} torch thread(s) "
                  f"each, these will with {threads}; on a CPU a trial's numbers depend on "
                  f"the count, so they are not what it gives with {recorded}: --threads "
                  f"{recorded} keeps them alike{fewer}", SetupWarning)


def resume_command(directory, executor: str, address: str | None,
                    threads: int | None = None, workers: int | None = None) -> str:
    """The command that continues this sweep on the same executor (--resume alone would
    run it on this machine), with the --workers it was given (without, a `--workers 2`
    sweep went on with one, at half the speed) and the thread count its CPU trials
    trained with."""
    on = "" if executor == "local" else f" --executor {executor}" + (
        f" --address {address}" if address else "")
    return f"cnnlab design run --resume {shell_quote(str(directory))}{on}" + (
        f" --workers {workers}" if workers else "") + (
        f" --threads {threads}" if threads else "")


def python_resume_words(directory, executor: str, address: str | None,
                        threads: int | None = None, workers: int | None = None) -> str:
    """How a caller from Python (a notebook) continues the sweep, as " (from Python:
    run_sweep(...))", with what :func:`resume_command` gives the command; "" for the
    command line, whose words are that command's."""
    from cnnlab.train.machine import cnnlab_program

    if cnnlab_program():
        return ""
    given = [repr(str(directory))] + [
        f"{name}={value!r}" for name, value in (
            ("executor", None if executor == "local" else executor), ("address", address),
            ("workers", workers), ("threads", threads)) if value]
    return f" (from Python: run_sweep({', '.join(given)}))"


def _other_code(outcome) -> str | None:
    """Why ``outcome`` came from code other than the driver's, where it did: refused by
    its worker, or by the executor for the fingerprint it came back with (or without:
    design/code_check.py's ``checked``). None for any other outcome."""
    if isinstance(outcome, BaseException) or outcome.get("status") != "refused":
        return None
    return outcome.get("message") or f"{outcome.get('worker')} refused it: other code"


def _say_stopping(why: str, running: int) -> None:
    # Said now: the sweep waits for the running trials (hours, maybe) before it stops.
    from cnnlab.notices import SetupWarning, warn_user

    those = "the running trial finishes" if running == 1 else \
        f"the {running} running trials finish"
    warn_user(f"{why}. No more trials start; the sweep stops once {those}", SetupWarning)


def _warn_of_other_code(store: TrialStore, code: dict) -> None:
    """Warn a run whose code is not the code that trained the sweep's done trials (its
    cnnlab edited or upgraded between runs, or another torch): their numbers would not
    be what this code gives. Trials stored before the code was recorded say nothing."""
    others: dict[str, int] = {}
    for t in store.trials("done"):
        if t["code"] is not None and code_mismatch(code, t["code"], ""):
            others[describe(t["code"])] = others.get(describe(t["code"]), 0) + 1
    if others:
        from cnnlab.notices import SetupWarning, warn_user

        was = "; ".join(f"{n} with {what}" for what, n in others.items())
        warn_user(f"{store.directory}: some of its done trials trained with other code than "
                  f"this run's {describe(code)} ({was}); any change to cnnlab's sources "
                  "counts (what changed is not told apart), and one to what trains changes "
                  "a trial's numbers, which the sweep would then mix: run it with that "
                  "code, or compare in a new sweep (another --out)", SetupWarning)


def _store_outcome(store: TrialStore, trial_id: int, outcome,
                   on_result) -> tuple[bool, bool]:
    """Commit one outcome. Returns (retry this trial, stop the sweep)."""
    if isinstance(outcome, BaseException):  # the worker process died under the trial
        attempts = store.trial(trial_id)["attempts"]
        if attempts < MAX_ATTEMPTS:
            store.mark_pending([trial_id])
            return True, False
        store.record(trial_id, "failed", message=f"worker process or its node lost {attempts} "
                     f"times (out of memory?): {type(outcome).__name__}: {outcome}"[:2000])
    elif outcome["status"] == "interrupted":
        store.put_back([trial_id])  # stopped, not failed
        return False, True
    else:
        fields = {k: v for k, v in outcome.items() if k not in ("id", "status")}
        store.record(trial_id, outcome["status"], **fields)
    if on_result is not None:
        on_result(store.trial(trial_id))
    return False, False
