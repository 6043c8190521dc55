"""What a user other than root meets: file permissions that refuse. CI runs as root, whom
modes never stop, so the refusals are simulated (``as_a_user``: opening for writing a file
without its owner's write bit, or listing a folder named, raises PermissionError as the
kernel does for anyone but root)."""

from __future__ import annotations

import builtins
import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnlab.data.folder_cache as folder_cache
from cnnlab.atomic import atomic_write_text
from cnnlab.data import DataWarning
from cnnlab.data.folder import load_folder


def _writes(flags_or_mode) -> bool:
    if isinstance(flags_or_mode, int):
        return bool(flags_or_mode & (os.O_WRONLY | os.O_RDWR))
    return any(c in flags_or_mode for c in "wax+")


@pytest.fixture
def as_a_user(monkeypatch):
    """Refuse what the kernel refuses a user: a write to an existing file without u+w."""
    real_open, real_os_open = builtins.open, os.open

    def refuse(path, writes: bool) -> None:
        if writes and isinstance(path, str | Path) and os.path.isfile(path) \
                and not os.stat(path).st_mode & stat.S_IWUSR:
            raise PermissionError(13, "Permission denied", str(path))

    def user_open(file, mode="r", *args, **kwargs):
        refuse(file, _writes(mode))
        return real_open(file, mode, *args, **kwargs)

    def user_os_open(path, flags, *args, **kwargs):
        refuse(path, _writes(flags))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", user_open)
    monkeypatch.setattr(io, "open", user_open)  # pathlib's write_text opens through io.open
    monkeypatch.setattr(os, "open", user_os_open)


def test_a_read_only_file_is_replaced_keeping_its_mode(tmp_path, as_a_user):
    # The temporary copy took the old file's 0444 before it was written, so a user could
    # not write it: a resume over read-only checkpoints lost the epoch it had trained.
    target = tmp_path / "last.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o444)
    atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["last.json"]  # no temporary file left


def _images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")


def deny_listing(monkeypatch, private: Path, call: str = "scandir") -> None:
    """Listing ``private`` raises PermissionError, as for a user without its read bit:
    through ``os.<call>`` (os.walk lists with scandir; a cache's entries with listdir)."""
    real = getattr(os, call)

    def as_the_user(path="."):
        if os.fspath(path) == os.fspath(private):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, call, as_the_user)


def test_a_folder_that_cannot_be_listed_is_named_with_the_fix(tmp_path, monkeypatch):
    # os.walk passes over a folder it may not list: its images were left out unsaid.
    root = tmp_path / "photos"
    _images(root / "cat", 3)
    _images(root / "cat" / "more", 2)
    _images(root / "dog", 3)
    private = root / "cat" / "more"
    deny_listing(monkeypatch, private)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_folder(root, image_size=8, channels=1, use_cache=False, progress=False)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("cat/more (permission denied)" in m and f"chmod -R a+rX {private}" in m
               for m in said), said


def test_an_unreadable_cache_folder_is_said_to_be_the_users_own(tmp_path, monkeypatch):
    # The warning said the entry was "private to the user who wrote them" (another
    # user's), when it was this user's own cache folder that could not be read.
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNNLAB_CACHE", str(cache))
    stem = folder_cache.entries_folder() / ("0" * 32)
    stem.parent.mkdir(parents=True)
    real_access = os.access

    def denied_open(path):  # what reading an entry in a folder one may not search raises
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(folder_cache, "open_own", denied_open)
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == stem.parent
                        else real_access(p, mode))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert folder_cache.load_cache(stem, (1, 8, 8)) is None
    said = " ".join(str(w.message) for w in caught)
    assert f"the cache folder {stem.parent} is not readable by this user" in said
    assert "private to the user who wrote them" not in said
    assert "CNNLAB_CACHE" in said
