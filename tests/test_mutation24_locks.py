"""cnnlab.file_lock's waiting lock is exclusive: a probe (`design status`, `compare`)
finds it held, as it finds a lock taken without waiting."""

import pytest

from cnnlab import file_lock
from cnnlab.file_lock import LockState

pytest.importorskip("fcntl")  # flock is POSIX's: elsewhere nothing is locked


@pytest.mark.parametrize("wait", [None, 0.0])
def test_a_lock_taken_is_seen_held_by_a_probe(tmp_path, wait):
    path = tmp_path / ".lock"
    with open(path, "a+", encoding="utf-8") as mine:
        assert file_lock.try_lock(mine, wait=wait) is LockState.HELD
        file_lock.name_holder(mine, "vm:7")
        assert file_lock.held_by(path) == "vm:7"
        file_lock.unlock(mine)
        assert file_lock.held_by(path) is None


def test_a_lock_file_removed_and_made_anew_is_another_file(tmp_path):
    # A run's holder removes its lock file on finishing; a waiter that locked the old
    # one must lock the new one again (same folder, same device: only the inode differs).
    path = tmp_path / ".lock"
    path.write_text("", encoding="utf-8")
    with open(path, encoding="utf-8") as old:
        assert file_lock.is_at(old, path)
        (tmp_path / "other").write_text("", encoding="utf-8")
        assert not file_lock.is_at(old, tmp_path / "other")
        path.unlink()
        assert not file_lock.is_at(old, path)
