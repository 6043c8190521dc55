"""A sweep's lock: one driver (`cnnlab design run`, :func:`~cnnlab.design.runner.run_sweep`)
per sweep, and what a reader (`design status`) can tell of who holds it. Kept apart from
the driver, :mod:`cnnlab.design.runner`, which re-exports these names."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from cnnlab import file_lock
from cnnlab.atomic import open_to_append
from cnnlab.design.store import DB_NAME
from cnnlab.design.sweep_spec import StoreError
from cnnlab.design.trial import worker_name
from cnnlab.file_lock import LockState

LOCK_NAME = ".lock"


_HELD: dict[Path, int] = {}  # sweep folders this process holds the lock of (re-entrant)


@contextlib.contextmanager
def sweep_lock(directory) -> Iterator[None]:
    """Hold the sweep's lock: one driver per sweep. A second one would take the same
    pending trials and reset the first one's running ones, training them twice; so it is
    refused, naming the holder. Re-entrant within a process (the CLI holds it around
    reopening and running the sweep; :func:`run_sweep` takes it too). A folder holding no
    sweep yet is not locked: the lock file would be left in it (an empty folder, a
    training run) by a command refused there; its sweep is locked once created."""
    path = Path(directory).resolve() / LOCK_NAME
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    if file_lock.fcntl is None:  # not POSIX (Windows): no lock
        yield
        return
    if not (path.parent / DB_NAME).is_file():
        # No sweep yet: nothing to guard, and no lock file to leave in a folder that a
        # refused command should leave as it was.
        yield
        return
    # Tried for half a second: `design status` holds a shared lock for an instant to see
    # whether a sweep is trained, and a `design run` starting then was refused, naming
    # the last driver (long gone) as the one training.
    unguarded = file_lock.Unguarded("sweep", path, (
        f"the sweep {path.parent} is driven unguarded: a second `cnnlab design run` of it "
        "meanwhile is not refused, and would take the same pending trials and reset the "
        "running ones, training them twice. Drive each sweep from one command at a time, "
        "or keep sweeps on a file system with locks"))
    try:
        handle = open_to_append(path, "a+", encoding="utf-8")
    except OSError as exc:  # may not write in it, a read-only disk, a link: a traceback was
        # The sweep may well be writable: its lock's name is taken (a link was told to
        # copy the sweep elsewhere, beside open_to_append's "remove the link")
        if path.is_symlink() or path.is_dir():
            what = f"a link to {os.readlink(path)}" if path.is_symlink() else "a folder"
            raise StoreError(f"{path}, where a sweep keeps its lock file, is {what}: move "
                             "or remove it, then run this again") from None
        why = (exc.strerror or str(exc)).lower()
        raise StoreError(f"cannot write in the sweep {directory} ({why}): "
                         "`design run` records each trial there; copy it to a place you may "
                         "write in (cp -r) and run the copy (`design status` and `design "
                         "analyze --out DIR` read it where it is)") from None
    with handle, file_lock.exclusive(handle, wait=0.5, unguarded=unguarded) as state:
        if state is LockState.NO_LOCKS:  # a mount without locks (NFS nolock): unguarded,
            yield  # as a run is (every run failed there: ENOLCK)
            return
        if state is LockState.BUSY:
            holder = file_lock.holder(handle) or "another process"
            raise StoreError(f"{directory} is being trained by {holder}: one `cnnlab design "
                             "run` per sweep (wait for it, or stop it; then run this again "
                             "to finish the sweep)") from None
        file_lock.name_holder(handle, worker_name())  # host:pid
        _HELD[path] = 1
        try:
            yield
        finally:
            del _HELD[path]


def sweep_driver(directory) -> str | None:
    """Who trains the sweep in ``directory`` now (host:pid, from its lock), or None when
    no `cnnlab design run` holds it: a reader (``design status``) tells a sweep in
    progress from one that was stopped. Reads only; never creates the lock file."""
    path = Path(directory).resolve() / LOCK_NAME
    if path in _HELD:
        return worker_name()
    # None too where it is not known: no lock file (never driven by this cnnlab), or no
    # locks (not POSIX, or not this mount).
    holder = file_lock.held_by(path)
    return None if holder is None else holder or "another process"


def driver_unknown(directory) -> str | None:
    """Why whether a `cnnlab design run` trains the sweep in ``directory`` cannot be known
    (:func:`sweep_driver` then says None of a sweep being trained): no file locks here,
    or none on its file system (NFS mounted nolock), so a driver there holds none. None
    where it can be known. Reads only."""
    path = Path(directory).resolve() / LOCK_NAME
    if file_lock.fcntl is None:
        return "no file locks on this platform, so a driver holds none"
    if path in _HELD or not path.is_file():  # no lock file: no driver ever ran here
        return None
    try:
        handle = open(path, "rb")  # a descriptor of its own, as held_by's
    except OSError as exc:  # not a mount without locks: this user may not read it, say
        return f"its lock file {path} cannot be read ({exc})"
    with handle:
        if file_lock.probe(handle.fileno()) is LockState.NO_LOCKS:
            return (f"no lock can be taken on {path} (a mount without locks, NFS nolock "
                    "say), so a driver holds none there")
    return None  # held, or free: known
