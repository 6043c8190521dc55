"""The lock of a folder cache entry (``KEY.lock`` beside its files): held while the entry
is decoded and written (:func:`decoding_lock`), and while it is removed
(:func:`removal_lock`), so that processes wanting one folder decode it once and no entry
is removed under its writer. Whether a lock is held tells a write going on from one
killed midway (:func:`lock_free`, :data:`WRITING_GRACE_S`).

Where there is no flock (Windows) or a mount refuses it, each process decodes: that costs
time and loses nothing. A lock file another user made is never waited on."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from cnnlab import file_lock
from cnnlab.atomic import open_to_append
from cnnlab.data.access import other_users_files, own_uid
from cnnlab.file_lock import LockState

# Every write holds its entry's lock from before its first piece to after its last, so
# pieces beside a lock none holds are a killed write's; except where flock is local to
# each host (NFS mounted local_lock=flock or all, some CIFS and FUSE mounts), where another
# host's write holds a lock this host does not see. A write touches its pieces until its
# end (seconds; a minute or two for gigabytes over a network), so pieces untouched this
# long are a killed write's on any mount. The cost: those stay this much longer.
WRITING_GRACE_S = 600


def _untouched_for(path: Path, seconds: float) -> bool:
    """Whether ``path`` was last written more than ``seconds`` ago (False: not there)."""
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


@contextlib.contextmanager
def decoding_lock(stem: Path) -> Iterator[bool]:
    """Hold the entry's lock while decoding it: the processes that want an entry not yet
    written (every rank of a torchrun job, runs started together) decode it once, the
    others wait and then read the cache (each had decoded the whole folder). Yields
    whether it waited for another process. No lock off POSIX (Windows): each decodes."""
    handle, state, waited = _take_decoding_lock(stem) if file_lock.fcntl else (None, None, False)
    if handle is None:  # no lock file to leave in the cache (Windows), or none to take
        yield False
        return
    with handle:
        try:  # unlocked (LockState.NO_LOCKS) on a mount without locks: each decodes
            if state is LockState.HELD:
                _remove_killed_writes(stem)
            yield waited
        finally:
            if state is LockState.HELD:
                file_lock.unlock(handle)


def _take_decoding_lock(stem: Path):
    """The entry's lock file, open, and what locking it came to, once no other process
    of this user holds it; and whether it waited. (None, None, False) where there is
    none to take: a cache folder it may not write, or a lock file another user made
    (not waited on: nothing bounds how long they hold it)."""
    lock, waited = stem.with_suffix(".lock"), False
    for attempt in range(1, file_lock.RELOCK_TRIES + 1):
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            handle = open_to_append(lock, "a", encoding="utf-8")
        except OSError:  # a cache folder it may not write: no lock (nor cache) to share
            return None, None, False
        own = own_uid(stem.parent)
        if own is not None and os.fstat(handle.fileno()).st_uid != own:
            handle.close()
            return None, None, False
        # No word where a mount refuses locks (no `unguarded`): each process decodes,
        # which costs time and loses nothing.
        state = file_lock.try_lock(handle)
        if state is LockState.BUSY:  # another process decodes it now
            waited = True
            state = file_lock.try_lock(handle, wait=None)  # until it has written it
        # A prune removed the lock file while this waited on it: the next process would
        # make a new one, and decode beside this one. Lock the file at the name now;
        # not for ever where inode numbers never match (some network mounts): the lock
        # held then guards as much as the mount lets it.
        last = attempt == file_lock.RELOCK_TRIES
        if state is not LockState.HELD or last or file_lock.is_at(handle, lock):
            break
        file_lock.unlock(handle)
        handle.close()
    return handle, state, waited


def _remove_killed_writes(stem: Path) -> None:
    """Delete the temporary files of ``stem``'s writes, whose lock this process holds
    now, once untouched for :data:`WRITING_GRACE_S`: every write holds the lock, so they
    are the leftovers of one killed midway (each up to a whole decoded copy of the
    folder). Another user's are left to them."""
    leftovers = list(stem.parent.glob(f".{stem.name}.*.tmp"))
    others = other_users_files(leftovers)
    for path in leftovers:
        if path not in others and _untouched_for(path, WRITING_GRACE_S):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def locked_elsewhere(stem: Path) -> bool:
    """Whether another process holds the entry's lock now (decoding it)."""
    return file_lock.held_by(stem.with_suffix(".lock")) is not None


def lock_free(stem: Path) -> bool:
    """Whether the entry's lock file is this user's and no process holds its lock, so
    that no write of it is going on here (each holds it throughout; see
    :data:`WRITING_GRACE_S` for other hosts). Not where that cannot be told: no lock
    file (a write that could not make one), a mount without locks."""
    lock = stem.with_suffix(".lock")
    if file_lock.fcntl is None or other_users_files([lock]):
        return False
    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        return file_lock.probe(fd) is LockState.HELD
    finally:
        os.close(fd)


@contextlib.contextmanager
def removal_lock(stem: Path) -> Iterator[bool]:
    """Hold the entry's lock while its files are removed; yields False where another
    process holds it (decoding it now). Where it cannot be taken (no lock file, none
    this user may open, a mount without locks), whether another process holds it."""
    try:  # read-write: NFS takes an exclusive flock only through a file open to write
        fd = os.open(stem.with_suffix(".lock"), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        fd = None
    if fd is None:  # yielded outside the except: the block's errors are not chained to it
        yield not locked_elsewhere(stem)
        return
    try:
        state = file_lock.try_lock(fd)
        try:
            yield state is not LockState.BUSY
        finally:
            if state is LockState.HELD:
                file_lock.unlock(fd)
    finally:
        os.close(fd)
