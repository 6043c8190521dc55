"""A decode cache that could not be written says the fix for why: "make room" for a full
disk alone. CNNLAB_CACHE naming a file (or a read-only disk) had been told to make room."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

from folder_cache_helpers import load, make_tree

from cnnlab.data.folder_cache import cache_not_kept


def test_cache_naming_a_file_is_not_told_to_make_room(tmp_path: Path, monkeypatch):
    not_a_folder = tmp_path / "cachefile"
    not_a_folder.write_text("", encoding="utf-8")
    monkeypatch.setenv("CNNLAB_CACHE", str(not_a_folder))
    tree = make_tree(tmp_path / "tree")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(tree)
    assert len(data.train) + len(data.test) == 4  # decoded all the same
    said = " ".join(str(w.message) for w in caught if "could not write the cache" in
                    str(w.message))
    assert "Not a directory" in said
    assert "make room" not in said
    assert "set CNNLAB_CACHE to a folder this user may write in" in said


def test_a_full_disk_is_told_to_make_room(tmp_path: Path):
    words = cache_not_kept(tmp_path, "could not write the cache x",
                           OSError(errno.ENOSPC, "No space left on device"))
    assert "make room, or set CNNLAB_CACHE to a folder on another disk" in words


def test_a_read_only_disk_is_not_told_to_make_room(tmp_path: Path):
    words = cache_not_kept(tmp_path, "could not write the cache x",
                           OSError(errno.EROFS, "Read-only file system"))
    assert "make room" not in words
    assert "CNNLAB_CACHE" in words
