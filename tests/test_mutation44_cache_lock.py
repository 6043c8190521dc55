"""A folder cache entry's lock, where the other tests leave it unpinned: which leftovers
of a killed write the lock's taker removes, a mount without locks, and an entry whose
lock file cannot be opened."""

from __future__ import annotations

import os
import time

import pytest

from cnnlab.data import cache_lock
from cnnlab.file_lock import LockState


def test_the_lock_taker_removes_only_its_own_long_untouched_leftovers(tmp_path) -> None:
    stem = tmp_path / "0123abcd"
    fresh, old, others = (tmp_path / f".0123abcd.{token}.tmp"
                          for token in ("aaaaaaaa", "bbbbbbbb", "cccccccc"))
    for path in (fresh, old, others):
        path.write_bytes(b"part of a decoded folder")
    long_ago = time.time() - cache_lock.WRITING_GRACE_S - 60
    for path in (old, others):
        os.utime(path, (long_ago, long_ago))
    try:
        os.chown(others, 4242, 4242)  # another user's, in a cache users share
    except PermissionError:
        pytest.skip("changing a file's owner needs root")
    with cache_lock.decoding_lock(stem) as waited:
        assert waited is False
        # A fresh one may be a live write's on another host (a lock this one cannot see).
        assert fresh.exists() and others.exists() and not old.exists()


def test_an_entry_on_a_mount_without_locks_is_never_called_free(tmp_path,
                                                                monkeypatch) -> None:
    # Unknowable there: a write may be going on, so its pieces are not a killed write's.
    stem = tmp_path / "0123abcd"
    stem.with_suffix(".lock").touch()
    assert cache_lock.lock_free(stem)
    monkeypatch.setattr(cache_lock.file_lock, "probe", lambda fd: LockState.NO_LOCKS)
    assert not cache_lock.lock_free(stem)


def test_an_entry_whose_lock_file_cannot_be_opened_is_not_removed_while_held(
        tmp_path, monkeypatch) -> None:
    stem = tmp_path / "0123abcd"  # no lock file to open
    monkeypatch.setattr(cache_lock, "locked_elsewhere", lambda s: s == stem)
    with cache_lock.removal_lock(stem) as free:
        assert free is False
    with cache_lock.removal_lock(tmp_path / "other") as free:
        assert free is True

