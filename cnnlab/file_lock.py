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
locks available"). A caller whose lock matters to the user says what it guards
(:class:`Unguarded`: a run's, a sweep's, a zoo bench's); the first time in a process that
such a lock cannot be taken so, a :class:`~cnnlab.notices.LockWarning` names the lock
file and what is now left unguarded, in the caller's words.

flock rather than a lock file's mere presence: a process that dies, however it dies,
releases it, so no lock outlives its holder.
"""

from __future__ import annotations

import contextlib
import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Unguarded:
    """What a lock guards, said once per process for each ``kind`` where a file system
    refuses it: ``path`` the lock file; ``risk`` what a second command is now free to do
    and the way out, in the caller's words ("the run DIR trains unguarded: ...")."""

    kind: str  # "run", "sweep", "zoo": said once each
    path: Path
    risk: str


class LockState(enum.Enum):
    """What :func:`try_lock` came to."""

    HELD = "held"  # this open file holds the lock now
    BUSY = "busy"  # another open file holds it (still, after any wait)
    NO_LOCKS = "no locks"  # none to take here (see the module's note): go on unlocked


def try_lock(file: File, *, wait: float | None = 0.0,
             unguarded: Unguarded | None = None) -> LockState:
    """Take ``file``'s exclusive lock. ``wait``: for how many seconds to try again while
    another holds it (0: once; tried every ``POLL_S``); None: until it is released.
    ``unguarded``: what to warn of where a file system refuses it (None: nothing)."""
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
        if unguarded is not None:
            say_unguarded(unguarded, exc)
        return LockState.NO_LOCKS


def unlock(file: File) -> None:
    """Release the lock :func:`try_lock` took (``LockState.HELD``) on ``file``."""
    fcntl.flock(file, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(file: File, *, wait: float | None = 0.0,
              unguarded: Unguarded | None = None) -> Iterator[LockState]:
    """Hold ``file``'s exclusive lock while the block runs, released however it ends.
    Yields what :func:`try_lock` (``wait`` and ``unguarded`` as there) came to: the block
    refuses on ``BUSY``, and goes on unlocked on ``NO_LOCKS``."""
    state = try_lock(file, wait=wait, unguarded=unguarded)
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
    try:  # never through a link, nor held up by a FIFO (a folder given as a run by mistake)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # no lock file: never locked here, or not readable
        return None
    try:
        return holder(fd) if probe(fd) is LockState.BUSY else None
    finally:
        os.close(fd)


def probe(fd: int) -> LockState:
    """Whether the lock of the lock file open as ``fd`` is held: BUSY, by another open
    file; HELD, by none (this probe took it shared and let it go at once); NO_LOCKS, its
    file system refuses locks. ``fd`` must be a descriptor of the prober's own (see
    :func:`held_by`), and flock must exist (``fcntl`` not None)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        return LockState.BUSY
    except OSError:  # ENOLCK and the like: a file system without locks
        return LockState.NO_LOCKS
    return LockState.HELD


# How many times a caller locks the file at its lock's name again, when the file it locked
# is no longer there (its holder removed it on finishing, as a run's does): that is rare,
# so a few tries. Where inode numbers never match (some network mounts) every try finds
# another file, and the caller goes on with what it has rather than loop for ever.
RELOCK_TRIES = 20


def is_at(file: File, path: str | os.PathLike) -> bool:
    """Whether the open ``file`` is still the file named ``path``: not once the name is
    removed or given to another file (a lock file its holder removed on finishing, then
    made anew), nor where either cannot be looked at, nor on the network mounts whose
    inode numbers never match (bound the tries: :data:`RELOCK_TRIES`)."""
    try:
        here, there = os.fstat(_descriptor(file)), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def name_holder(file: File, name: str) -> None:
    """Write ``name`` (a pid, host:pid) in the lock file ``file``, in place of what the
    last holder wrote, so that whoever finds it held can say who holds it: from the file's
    start whatever ``file``'s position (the file is emptied first, so one opened to append
    writes there too). A disk too full to write it leaves the lock held, unnamed."""
    fd = _descriptor(file)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{name}\n".encode(), 0)
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


def say_unguarded(unguarded: Unguarded, exc: OSError) -> None:
    """Warn, once per process for each kind of lock, that the lock file could not be
    locked (``exc``) and what a second command is now free to do (``unguarded``)."""
    if unguarded.kind in _SAID:
        return
    _SAID.add(unguarded.kind)
    from cnnlab.notices import LockWarning, warn_user

    warn_user(f"{unguarded.path}: no lock can be taken there ({exc}: a mount without "
              f"locks, NFS nolock say), so {unguarded.risk}", LockWarning)
