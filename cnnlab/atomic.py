"""Atomic file writes: a process killed at any moment leaves the old file or the new
one under the real name, never a half-written one.

The content goes to a temporary name in the same directory, is fsynced, then
``os.replace``d over the old file, and the directory is fsynced. No torch here: the
config module, which reads and writes YAML without torch, uses it too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)  # read once (it can only be read by setting it) ...
os.umask(_UMASK)  # ... and put back at once


def atomic_write_bytes(path: Path, write, mode: int | None = None) -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` atomically. ``mode``:
    the file's permissions (default: what a plain write would give, or the old file's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); the result should have the mode a plain
        # write gives (or the replaced file's), so shared run folders stay readable.
        if mode is None:
            mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_file(path: Path | str) -> None:
    """Put a file's content on disk (before it is renamed into place)."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_folder(folder: Path | str) -> None:
    """Put a folder's entries on disk (after renames into it)."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text), mode)
