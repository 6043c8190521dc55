"""cnnlab.atomic, as a crash sees it: the new content is on disk before its name takes
the old file's place, and a killed write's temporary file is one the cleanup finds."""

import os
from pathlib import Path

import pytest

from cnnlab import atomic
from cnnlab.atomic import (
    atomic_write_text,
    new_temp_file,
    remove_leftover_temp_files,
    write_problem,
)


def test_the_content_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    # Without the first fsync a power cut after the rename could leave the real name
    # pointing at an empty file (ext4's delayed allocation): the old content lost too.
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "f.txt"
    atomic_write_text(target, "new")
    done = events.index(("replace", str(target)))
    assert any(kind == "fsync" and os.path.basename(p).startswith(".f.txt.")
               for kind, p in events[:done]), events
    assert ("fsync", os.path.realpath(tmp_path)) in events[done + 1:], events
    assert target.read_text(encoding="utf-8") == "new"


def test_a_temporary_file_a_kill_left_is_one_the_cleanup_removes(tmp_path):
    # The names new_temp_file gives and the ones remove_leftover_temp_files looks for
    # must agree: a checkpoint-sized leftover per kill otherwise stays for ever.
    left = new_temp_file(tmp_path / "last.pt")
    (tmp_path / ".last.pt.userkept.tmp").write_text("a user's", encoding="utf-8")
    assert remove_leftover_temp_files(tmp_path, "last.pt") == 1
    assert not os.path.exists(left)
    assert (tmp_path / ".last.pt.userkept.tmp").exists()


def test_remove_empty_folders_made_stops_at_the_first_folder_it_made(tmp_path):
    # An empty folder that was there before (the user's) is left, however empty.
    made_from = atomic.first_missing_folder(tmp_path / "a" / "b")
    (tmp_path / "a" / "b").mkdir(parents=True)
    atomic.remove_empty_folders_made(tmp_path / "a" / "b", made_from)
    assert not (tmp_path / "a").exists() and tmp_path.exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_write_problem_says_why_even_to_root():
    # Root writes in a read-only folder, so the permissions test skips as root: /proc
    # refuses every new file, to root too.
    assert write_problem(Path("/proc")) == "no such file or directory"
