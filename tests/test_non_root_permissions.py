"""What a user other than root meets: file permissions that refuse. CI runs as root, whom
modes never stop, so the refusals are simulated (``as_a_user``: opening for writing a file
without its owner's write bit, or listing a folder named, raises PermissionError as the
kernel does for anyone but root)."""

from __future__ import annotations

import builtins
import io
import os
import stat
from pathlib import Path

import pytest

from cnnlab.atomic import atomic_write_text


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
