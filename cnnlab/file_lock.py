"""Advisory file locks (``flock``), for what must not run twice at once on one folder: a
run's training (train.runlog), a sweep's driver (design.runner), a zoo bench's CSV
(bench.zoo), the decoding of a folder's cache entry (data.folder_cache).

Each caller opens its own lock file (a run's replaces a link planted at its name, the
others refuse one) and decides what a lock held elsewhere means: refused, naming the
holder, or waited for. This module takes, probes and releases the lock, and writes and
reads who holds it. Where there is no lock to take, the caller goes on unlocked rather
than fail: no flock on this platform (Windows: ``fcntl`` is None), or a file system that
refuses locks (NFS mounted ``nolock``, some CIFS and FUSE mounts: ENOLCK, ENOSYS,
EOPNOTSUPP; every run, sweep and cold-cache load there once failed with "[Errno 37] No
locks available"). The first time in a process that a run's, a sweep's or a zoo bench's
lock cannot be taken so, a :class:`~cnnlab.notices.LockWarning` names the lock file and
what is now left unguarded (:func:`say_unguarded`).

flock rather than a lock file's mere presence: a process that dies, however it dies,
releases it, so no lock outlives its holder.
"""

from __future__ import annotations

import contextlib
import enum
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # not POSIX (Windows): nothing is locked
    fcntl = None

POLL_S = 0.05  # while waiting for a lock held elsewhere, how often it is tried again
HOLDER_BYTES = 256  # how much of the lock file is read as its holder's name

File = IO | int  # an open file, or its descriptor


class LockState(enum.Enum):
    """What :func:`try_lock` came to."""

    HELD = "held"  # this open file holds the lock now
    BUSY = "busy"  # another open file holds it (still, after any wait)
    NO_LOCKS = "no locks"  # none to take here (see the module's note): go on unlocked


def try_lock(file: File, *, wait: float | None = 0.0) -> LockState:
    """Take ``file``'s exclusive lock. ``wait``: for how many seconds to try again while
    another holds it (0: once; tried every ``POLL_S``); None: until it is released."""
    if fcntl is None:
        return LockState.NO_LOCKS
    try:
        if wait is None:
            fcntl.flock(file, fcntl.LOCK_EX)
            return LockState.HELD
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return LockState.HELD
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return LockState.BUSY
                time.sleep(POLL_S)
    except OSError as exc:  # ENOLCK, ENOSYS, EOPNOTSUPP: a file system without locks
        say_unguarded(_path_of(file), exc)
        return LockState.NO_LOCKS


def unlock(file: File) -> None:
    """Release the lock :func:`try_lock` took (``LockState.HELD``) on ``file``."""
    fcntl.flock(file, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(file: File, *, wait: float | None = 0.0) -> Iterator[LockState]:
    """Hold ``file``'s exclusive lock while the block runs, released however it ends.
    Yields what :func:`try_lock` (``wait`` as there) came to: the block refuses on
    ``BUSY``, and goes on unlocked on ``NO_LOCKS``."""
    state = try_lock(file, wait=wait)
    try:
        yield state
    finally:
        if state is LockState.HELD:
            unlock(file)


def held_by(path: str | os.PathLike) -> str | None:
    """Who holds the lock on the lock file at ``path`` now, as its holder named itself
    (:func:`name_holder`; "" when it wrote no name); None when no one does, or that
    cannot be known: no file there, no locks here. Looks only, through a descriptor of
    its own: flock's locks belong to the open file, so a probe through the holder's own
    would turn its lock shared and let it go; a lock this process holds through another
    open file counts as held. The probe is a shared lock, let go at once, so a
    holder-to-be taking it this very instant finds it held, a race of microseconds (its
    ``wait``)."""
    if isinstance(path, int) or hasattr(path, "fileno"):
        raise TypeError(f"held_by takes the lock file's path, not an open file ({path!r}): "
                        "probed through the holder's own open file, the lock is let go")
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file: never locked here, or not readable
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        return holder(fd)
    except OSError:  # a file system without locks
        return None
    finally:
        os.close(fd)
    return None


def name_holder(file: File, name: str) -> None:
    """Write ``name`` (a pid, host:pid) in the lock file ``file``, in place of what the
    last holder wrote, so that whoever finds it held can say who holds it. A disk too full
    to write it leaves the lock held, unnamed."""
    fd = _descriptor(file)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{name}\n".encode())
    except OSError:
        pass


def holder(file: File) -> str:
    """Who holds the lock, as its holder wrote it in ``file`` (opened for reading): ""
    when it wrote nothing. ``file``'s position is left as it was."""
    return os.pread(_descriptor(file), HOLDER_BYTES, 0).decode(errors="replace").strip()


def _descriptor(file: File) -> int:
    return file if isinstance(file, int) else file.fileno()


# The kinds of lock this process has said it went on without (said once each).
_SAID: set[str] = set()


def say_unguarded(path: Path | None, exc: OSError) -> None:
    """Warn, once per process for each kind of lock, that the lock file ``path`` could not
    be locked (``exc``) and what a second command is now free to do. Which lock it is
    comes from where its caller keeps it: a run's and a sweep's ``.lock`` in its folder
    (a sweep's beside its trials database), a zoo bench's ``.zoo-PRESET.lock``. A folder
    cache entry's says nothing: the processes that want it each decode the folder, which
    costs time and loses nothing."""
    kind, unguarded = _unguarded(path)
    if kind is None or kind in _SAID:
        return
    _SAID.add(kind)
    from cnnlab.notices import LockWarning, warn_user

    warn_user(f"{path or 'a lock file'}: no lock can be taken there ({exc}: a mount "
              f"without locks, NFS nolock say), so {unguarded}", LockWarning)


def _unguarded(path: Path | None) -> tuple[str | None, str]:
    """(the kind of lock at ``path``, what goes unguarded without it and the way out);
    kind None: nothing worth a word."""
    if path is None:
        return "unknown", ("cnnlab goes on unguarded: two cnnlab commands on one run, sweep "
                           "or zoo bench folder at the same time are not kept apart")
    folder = path.parent
    if path.name.startswith(".zoo-"):
        return "zoo", (f"the zoo bench's rows in {folder} are stored unguarded: two benches "
                       "storing a row there at the same moment can lose one of the rows. "
                       "Bench into this folder from one command at a time, or give --out a "
                       "file system with locks")
    if path.name != ".lock":
        return None, ""  # a folder's cache entry: decoded by each process that wants it
    from cnnlab.design.store import DB_NAME

    if (folder / DB_NAME).exists():
        return "sweep", (f"the sweep {folder} is driven unguarded: a second `cnnlab design "
                         "run` of it meanwhile is not refused, and would take the same "
                         "pending trials and reset the running ones, training them twice. "
                         "Drive each sweep from one command at a time, or keep sweeps on a "
                         "file system with locks")
    return "run", (f"the run {folder} trains unguarded: a second command training it "
                   "meanwhile (cnnlab resume) is not refused, and both would append the "
                   "same epochs. Train each run from one command at a time, or give "
                   "--out-dir a file system with locks")


def _path_of(file: File) -> Path | None:
    """Where the open ``file`` is (its descriptor's path), None where that cannot be
    known: the callers open their lock files by descriptor, which keeps no name."""
    fd = _descriptor(file)
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))  # Linux
    except OSError:
        pass
    if hasattr(fcntl, "F_GETPATH"):  # macOS
        try:
            return Path(os.fsdecode(fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))
                                    .rstrip(b"\0")))
        except OSError:
            pass
    return None
