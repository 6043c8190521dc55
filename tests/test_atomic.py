"""cnnlab.atomic: files written whole or not at all, with the permissions a plain
write gives, and no umask changed to find out what those are."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.atomic import atomic_write_bytes, atomic_write_text


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_a_new_file_gets_the_umask_in_force_when_it_is_written(tmp_path, umask_027):
    # The umask of the moment, not one read when cnnlab.atomic was imported.
    atomic_write_text(tmp_path / "new.txt", "x")
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640


def test_importing_and_writing_never_set_the_process_umask(tmp_path):
    # Setting it (the only way to read it with os.umask) opens a window in which any
    # other thread's new file gets the wrong permissions.
    code = (
        "import os, sys\n"
        "def refuse(mask): raise AssertionError('os.umask called')\n"
        "os.umask = refuse\n"
        "from cnnlab.atomic import atomic_write_text\n"
        "atomic_write_text(sys.argv[1], 'x')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f.txt")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f.txt").read_text() == "x"


def test_a_private_file_is_never_readable_by_others_while_written(tmp_path):
    seen = {}

    def write(tmp):
        seen["mode"] = os.stat(tmp).st_mode & 0o777
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("secret")

    atomic_write_bytes(tmp_path / "private.json", write, mode=0o600)
    assert seen["mode"] & 0o077 == 0
    assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_one(tmp_path):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "f.txt", write)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("failure, raised", [(errno.EINVAL, False), (errno.EIO, True)])
def test_a_folder_that_cannot_be_fsynced_does_not_undo_a_done_write(tmp_path, monkeypatch,
                                                                    failure, raised):
    # Some network and FUSE filesystems refuse fsync on a folder: the file is in place and
    # the write stands (a download would otherwise fetch it again, and fail). A real I/O
    # error is still raised.
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(failure, os.strerror(failure))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "f.txt"
    if raised:
        with pytest.raises(OSError):
            atomic_write_text(target, "new")
    else:
        atomic_write_text(target, "new")
    assert target.read_text() == "new"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_place_that_takes_no_file_is_named_by_the_file_meant_not_its_temporary_name():
    # "[Errno 2] No such file or directory: '/proc/.nope.png.09974d84.tmp'" before.
    with pytest.raises(FileNotFoundError) as err:
        atomic_write_text(Path("/proc/nope.txt"), "x")
    assert err.value.filename == "/proc/nope.txt" and ".tmp" not in str(err.value)


def test_appends_never_go_through_a_link(tmp_path):
    # A dangling class_metrics.jsonl link in a run folder copied in had `resume` create
    # and grow the file it named, outside the run.
    from cnnlab.atomic import open_to_append

    target = tmp_path / "elsewhere.txt"
    link = tmp_path / "class_metrics.jsonl"
    link.symlink_to(target)
    with pytest.raises(OSError, match=f"{link} is a link to {target}, not a file cnnlab "
                                      "wrote; remove the link"):
        open_to_append(link, encoding="utf-8")
    assert not target.exists()
    plain = tmp_path / "metrics.csv"
    for line in ("a\n", "b\n"):
        with open_to_append(plain, encoding="utf-8") as fh:
            fh.write(line)
    assert plain.read_text() == "a\nb\n"
