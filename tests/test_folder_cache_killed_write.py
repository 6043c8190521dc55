"""A decode killed midway (kill -9, a power cut) leaves pieces of a cache entry with no
sidecar. Every write holds the entry's lock throughout, and a dead process holds no lock,
so pieces beside a lock none holds are garbage once untouched for WRITING_GRACE_S (ten
minutes, not an hour): `cnnlab data cache` says so and removes them, as does the next
decode. A live writer's lock keeps its pieces, and so does the grace where flock is local
to each host (another host's write, its lock unseen here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from folder_cache_helpers import load, make_tree
from typer.testing import CliRunner

from cnnlab import file_lock
from cnnlab.cli import app
from cnnlab.data import cache_lock, folder_cache

pytest.importorskip("fcntl")

# A writer as decoding_lock runs one: the lock taken, then a temporary piece written; it
# says "ready" and waits to be killed. Plain Python (no torch to import): starts fast.
WRITER = """
import fcntl, sys, time
folder, key = sys.argv[1:]
lock = open(f"{folder}/{key}.lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
with open(f"{folder}/.{key}.safetensors.0123abcd.tmp", "wb") as piece:
    piece.write(bytes(4096))
print("ready", flush=True)
time.sleep(60)
"""


def start_writer(folder: Path, key: str) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), key],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    return writer


def kill(writer: subprocess.Popen) -> None:
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)


def age(folder: Path, key: str) -> None:
    """Make the entry's files older than the grace a write in progress gets."""
    then = time.time() - cache_lock.WRITING_GRACE_S - 60
    for path in folder.iterdir():
        if key in path.name:
            os.utime(path, (then, then))


def pieces(folder: Path, key: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if key in p.name)


def cache(*args: str) -> str:
    result = CliRunner().invoke(app, ["data", "cache", *args])
    assert result.exit_code == 0, result.output
    return result.output


def dead_and_live_writers(folder: Path, dead: str, live: str) -> subprocess.Popen:
    """A writer of entry ``dead`` killed, one of ``live`` still writing (returned), the
    pieces of both made old (a lock held keeps pieces however old)."""
    kill(start_writer(folder, dead))
    writer = start_writer(folder, live)
    age(folder, dead)
    age(folder, live)
    return writer


def test_data_cache_removes_a_killed_writes_pieces_and_keeps_a_live_ones(data_env: Path):
    folder = data_env / "cache" / "folders"
    dead, live = "d" * 32, "e" * 32
    writer = dead_and_live_writers(folder, dead, live)
    try:
        listing = cache()
        assert "unfinished" in listing and "being written" in listing  # one row each
        assert "removed 1 entry" in cache("--prune")
        assert pieces(folder, dead) == []  # it waited an hour: "being written" till then
        assert pieces(folder, live) == [f".{live}.safetensors.0123abcd.tmp", f"{live}.lock"]
        assert "left 1" in cache("--clear")  # nor does --clear take a live writer's
        assert pieces(folder, live)
    finally:
        kill(writer)
    assert "removed 1 entry" in cache("--prune")  # dead now
    assert pieces(folder, live) == []


def test_the_next_decode_removes_what_its_own_killed_decode_left(data_env: Path):
    # The run started again after the kill decodes the same folder, under the same key:
    # the killed write's temporary file stayed beside the new entry for good.
    pets = make_tree(data_env / "pets")
    load(pets)
    folder = data_env / "cache" / "folders"
    (sidecar,) = folder.glob("*.json")
    key = sidecar.stem
    for path in folder.glob(f"{key}.*"):
        if path.suffix != ".lock":
            path.unlink()  # as before the killed decode's end
    kill(start_writer(folder, key))
    age(folder, key)
    load(pets)
    assert pieces(folder, key) == [f"{key}.json", f"{key}.lock", f"{key}.safetensors"]


def test_pieces_written_lately_beside_a_free_lock_are_kept_a_while(data_env: Path):
    # Where flock is local to each host (NFS local_lock=flock, some CIFS and FUSE
    # mounts), another host's write in progress holds a lock this host sees free: its
    # pieces were removed at once, its write failed, and it decoded again next time.
    folder = data_env / "cache" / "folders"
    other_host, killed = "a" * 32, "b" * 32
    kill(start_writer(folder, other_host))  # its lock free here, its pieces fresh
    kill(start_writer(folder, killed))
    age(folder, killed)
    load(make_tree(data_env / "pets"))  # a decode prunes what no run reads again
    assert pieces(folder, other_host) and not pieces(folder, killed)
    assert "being written" in cache() and "removed 0 entries" in cache("--prune")
    assert pieces(folder, other_host)


def test_the_next_decode_of_another_folder_removes_a_killed_writes_pieces(data_env: Path):
    folder = data_env / "cache" / "folders"
    dead, live = "d" * 32, "e" * 32
    writer = dead_and_live_writers(folder, dead, live)
    try:
        load(make_tree(data_env / "pets"))
        assert pieces(folder, dead) == [] and pieces(folder, live)
    finally:
        kill(writer)


def test_a_decode_that_waited_on_a_lock_a_prune_removed_locks_the_new_one(
        data_env: Path, monkeypatch):
    # The prune removes the lock file last; a decode that waited on it would hold a lock
    # on a file no longer there, unseen by the next process, which would decode too.
    stem = data_env / "cache" / "folders" / ("f" * 32)
    writer = start_writer(stem.parent, stem.name)
    lock, held, waiting_on_it = stem.with_suffix(".lock"), [], threading.Event()
    try_lock = file_lock.try_lock

    def try_lock_told(file, **options):  # the decode has the lock file open, and waits
        if options.get("wait", 0.0) is None:
            waiting_on_it.set()
        return try_lock(file, **options)

    monkeypatch.setattr(file_lock, "try_lock", try_lock_told)

    def decode() -> None:
        with folder_cache.decoding_lock(stem) as waited:
            held.append((waited, file_lock.held_by(lock) is not None))

    waiting = threading.Thread(target=decode)
    waiting.start()
    assert waiting_on_it.wait(timeout=10)
    os.unlink(lock)
    lock.touch()  # as the next process to come makes it anew
    kill(writer)
    waiting.join(timeout=10)
    assert held == [(True, True)]


def test_a_decode_where_inode_numbers_never_match_goes_on(data_env: Path, monkeypatch):
    # Some network mounts report other inode numbers through stat than through fstat:
    # the decode took the lock file at the name again and again, at 100% CPU, for ever.
    stem = data_env / "cache" / "folders" / ("f" * 32)
    stat = os.stat

    def other_inode(path, *args, **kwargs):
        found = stat(path, *args, **kwargs)
        if str(path).endswith(".lock"):
            return os.stat_result((found.st_mode, found.st_ino + 1, *tuple(found)[2:]))
        return found

    monkeypatch.setattr(os, "stat", other_inode)
    held = []

    def decode() -> None:
        with folder_cache.decoding_lock(stem) as waited:
            held.append((waited, file_lock.held_by(stem.with_suffix(".lock")) is not None))

    decoding = threading.Thread(target=decode, daemon=True)  # daemon: a hang ends with pytest
    decoding.start()
    decoding.join(timeout=10)
    assert held == [(False, True)]  # it decodes, holding the lock it has
