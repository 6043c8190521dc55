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
locks available").

flock rather than a lock file's mere presence: a process that dies, however it dies,
releases it, so no lock outlives its holder.
"""

from __future__ import annotations

import contextlib
import enum
import os
import time
from collections.abc import Iterator
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
    except OSError:  # ENOLCK, ENOSYS, EOPNOTSUPP: a file system without locks
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


def held_elsewhere(file: File) -> bool | None:
    """Whether another open file holds ``file``'s lock now; None where that cannot be
    known (no locks here). Looks only: a shared lock, let go at once, so a holder-to-be
    taking it this very instant finds it held, a race of microseconds (its ``wait``)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(file, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:  # a file system without locks
        return None
    return False


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
