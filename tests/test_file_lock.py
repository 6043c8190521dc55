"""The advisory lock every "one at a time" of cnnlab takes (cnnlab.file_lock): held by
another process, refused or waited for, naming the holder; a file system without locks
goes on unlocked; released however the block holding it ends."""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
import time

import pytest

from cnnlab import file_lock
from cnnlab.file_lock import LockState
from cnnlab.notices import LockWarning

fcntl = pytest.importorskip("fcntl")  # flock is POSIX's: elsewhere nothing is locked

HOLD = """
import fcntl, sys
with open(sys.argv[1], "a+", encoding="utf-8") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write("otherhost:4242\\n")
    handle.flush()
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.fixture
def held_by_another_process(tmp_path):
    """The lock file, held by a child process until ``release()`` is called."""
    path = tmp_path / ".lock"
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        yield path, child.stdin.close
    finally:
        if not child.stdin.closed:
            child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()


def test_a_lock_another_process_holds_is_refused_naming_it_or_waited_for(
        held_by_another_process):
    path, release = held_by_another_process
    with open(path, "a+", encoding="utf-8") as handle:
        assert file_lock.try_lock(handle) is LockState.BUSY  # tried once
        started = time.monotonic()
        assert file_lock.try_lock(handle, wait=0.3) is LockState.BUSY  # tried for 0.3 s
        assert time.monotonic() - started >= 0.3
        assert file_lock.held_by(path) == "otherhost:4242"
        assert file_lock.holder(handle) == "otherhost:4242"
        threading.Timer(0.2, release).start()
        assert file_lock.try_lock(handle, wait=None) is LockState.HELD  # once it lets go
        file_lock.unlock(handle)
    assert file_lock.held_by(path) is None


def test_a_lock_let_go_while_waiting_is_taken_before_the_wait_ends(held_by_another_process):
    path, release = held_by_another_process
    threading.Timer(0.2, release).start()
    started = time.monotonic()
    with open(path, "a+", encoding="utf-8") as handle:
        assert file_lock.try_lock(handle, wait=20) is LockState.HELD
    assert time.monotonic() - started < 10


def test_a_file_system_without_locks_goes_on_unlocked(tmp_path, monkeypatch):
    # NFS mounted nolock, some CIFS and FUSE mounts: every flock fails with ENOLCK.
    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with open(tmp_path / ".lock", "a+", encoding="utf-8") as handle:
        for wait in (0.0, 0.2, None):
            assert file_lock.try_lock(handle, wait=wait) is LockState.NO_LOCKS
        with file_lock.exclusive(handle, wait=None) as state:  # no unlock to fail on leaving
            assert state is LockState.NO_LOCKS
        assert file_lock.held_by(tmp_path / ".lock") is None  # not known


def test_without_flock_nothing_is_locked(tmp_path, monkeypatch):
    monkeypatch.setattr(file_lock, "fcntl", None)  # Windows
    with open(tmp_path / ".lock", "a+", encoding="utf-8") as handle:
        assert file_lock.try_lock(handle, wait=None) is LockState.NO_LOCKS
        assert file_lock.held_by(tmp_path / ".lock") is None


def test_the_lock_is_released_however_the_block_ends(tmp_path):
    path = tmp_path / ".lock"
    with open(path, "a+", encoding="utf-8") as mine, open(path, encoding="utf-8") as other:
        with pytest.raises(KeyError), file_lock.exclusive(mine) as state:
            assert state is LockState.HELD
            assert file_lock.try_lock(other) is LockState.BUSY  # two opens exclude each other
            raise KeyError("the block failed")
        assert file_lock.held_by(path) is None
        assert file_lock.try_lock(other) is LockState.HELD


def test_looking_at_a_lock_from_its_holders_process_never_lets_it_go(tmp_path):
    # The probe (`design status`, `cnnlab compare`'s training pid) took and let go a shared
    # lock through the file it was given: given the holder's own open file, flock turned
    # its lock shared and let it go, and a second `design run` or `resume` then got in.
    path = tmp_path / ".lock"
    with open(path, "a+", encoding="utf-8") as mine, file_lock.exclusive(mine) as state:
        assert state is LockState.HELD
        file_lock.name_holder(mine, "vm:7")
        for probed in (mine, mine.fileno()):
            with pytest.raises(TypeError, match="takes the lock file's path, not an open"):
                file_lock.held_by(probed)
        assert file_lock.held_by(path) == "vm:7"  # this process's own lock: held
        with open(path, encoding="utf-8") as other:
            assert file_lock.try_lock(other) is LockState.BUSY  # still held
    assert file_lock.held_by(path) is None
    assert file_lock.held_by(tmp_path / "no-such.lock") is None


def test_the_holders_name_replaces_the_last_ones(tmp_path):
    path = tmp_path / ".lock"
    path.write_text("a-much-longer-host-name:123456\n", encoding="utf-8")
    with open(path, "a+", encoding="utf-8") as handle:
        file_lock.name_holder(handle, "vm:7")
        assert path.read_text(encoding="utf-8") == "vm:7\n"
        position = handle.tell()
        assert file_lock.holder(handle) == "vm:7" and handle.tell() == position
    path.write_bytes(b"\xff\xfe 99 \n")  # not UTF-8: read all the same
    with open(path, "rb") as handle:
        assert file_lock.holder(handle.fileno()) == "\ufffd\ufffd 99"
    path.write_text("", encoding="utf-8")
    with open(path, encoding="utf-8") as handle:
        assert file_lock.holder(handle) == ""


def test_the_holders_name_is_written_from_the_files_start_whatever_was_read(tmp_path):
    # name_holder wrote at the file's position: a caller that had read the lock file
    # (or written to it) left NUL bytes before the name, and the holder read back as them.
    path = tmp_path / ".lock"
    path.write_text("an-older-holder:99\n", encoding="utf-8")
    with open(path, "r+", encoding="utf-8") as handle:
        assert handle.read() == "an-older-holder:99\n"  # the position is now at its end
        file_lock.name_holder(handle, "vm:7")
        assert file_lock.holder(handle) == "vm:7"
    assert path.read_bytes() == b"vm:7\n"
    with open(path, "a+", encoding="utf-8") as handle:  # opened to append (the sweep's)
        file_lock.name_holder(handle, "host:12345")
    assert path.read_bytes() == b"host:12345\n"


def test_a_disk_too_full_for_the_name_leaves_the_lock_held_unnamed(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / ".lock"
    with open(path, "a+", encoding="utf-8") as handle, file_lock.exclusive(handle) as state:
        monkeypatch.setattr(file_lock.os, "pwrite", full)
        file_lock.name_holder(handle, "vm:7")
        monkeypatch.undo()
        with open(path, encoding="utf-8") as other:
            assert state is LockState.HELD and file_lock.held_by(path) == ""
            assert file_lock.holder(other) == ""


def test_a_sweep_held_under_a_name_not_utf8_says_so_and_does_not_crash(tmp_path):
    # `design status` (sweep_driver) read the holder's name as UTF-8 and failed with a
    # UnicodeDecodeError on a lock file that was not.
    from cnnlab.design.runner import LOCK_NAME, sweep_driver

    (tmp_path / LOCK_NAME).write_bytes(b"h\xf6st:12\n")  # Latin-1, say
    with open(tmp_path / LOCK_NAME, "a+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sweep_driver(tmp_path) == "h\ufffdst:12"
    assert sweep_driver(tmp_path) is None


def test_a_zoo_bench_on_a_mount_without_locks_stores_its_rows(tmp_path, monkeypatch):
    # `bench zoo --out` on NFS mounted nolock: each model trained, then its row was lost
    # to "[Errno 37] No locks available", as runs, sweeps and the cache once were.
    from cnnlab.bench import zoo

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(file_lock, "_SAID", set())  # said here, whatever ran before
    row = {"model": "lenet_d2l", "status": "failed", "error": "stand-in"}
    with pytest.warns(LockWarning, match="the zoo bench's rows .* are stored unguarded"):
        assert set(zoo.store_row(tmp_path, "book", row)) == {"lenet_d2l"}
    assert [r["model"] for r in zoo.read_rows(tmp_path / "zoo-book.csv")] == ["lenet_d2l"]


def test_without_fcntl_each_lock_goes_on_unlocked_leaving_no_lock_file(tmp_path):
    # Windows: no flock. A sweep, a zoo bench, a folder's cache and a run each go on
    # unlocked, and none leaves a lock file behind.
    import textwrap

    code = textwrap.dedent(f"""
        import pathlib, sys
        sys.modules["fcntl"] = None  # its import now fails, as on Windows
        from cnnlab.bench import zoo
        from cnnlab.data.folder_cache import decoding_lock
        from cnnlab.design import runner
        from cnnlab.design.store import DB_NAME
        from cnnlab.train.runlog import run_lock, training_pid

        folder = pathlib.Path({str(tmp_path)!r})
        (folder / DB_NAME).write_bytes(b"")  # a sweep is there: it would be locked
        with runner.sweep_lock(folder):
            assert runner.sweep_driver(folder) is None
        with zoo._file_lock(folder / ".zoo-book.lock"):
            pass
        with decoding_lock(folder / "cache" / "entry") as waited:
            assert waited is False
        with run_lock(folder) as held:
            assert held is False and training_pid(folder) is None
        print(sorted(p.name for p in folder.rglob("*")))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "['trials.sqlite']"


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX FIFOs")
def test_who_holds_a_lock_file_that_is_a_fifo_is_asked_without_waiting(tmp_path):
    # resume asks it of a folder before it knows the folder is a run: a .lock that is a
    # FIFO (or a link to one) held the command in open() for ever.
    import os

    os.mkfifo(tmp_path / ".lock")
    answers = []
    asking = threading.Thread(target=lambda: answers.append(file_lock.held_by(tmp_path / ".lock")),
                              daemon=True)
    asking.start()
    asking.join(timeout=10)
    assert answers == [None]
