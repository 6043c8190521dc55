"""cnnlab.atomic on Windows, recreated on Linux: a file another program holds open (an
antivirus scan, a viewer, TensorBoard, a sync client) refuses os.replace for a moment,
with PermissionError; POSIX keeps raising a refusal at once."""

from __future__ import annotations

import errno
import os
import stat
import sys
import time

import pytest

from cnnlab import atomic
from cnnlab.atomic import atomic_write_text

SHARING_VIOLATION = "The process cannot access the file because it is being used by another process"


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The waits between tries, recorded rather than slept (the tests stay fast)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def _replace_refused(monkeypatch, times: int | None) -> list[str]:
    """os.replace refused ``times`` times (None: always), then done; returns the tries."""
    real, tries = os.replace, []

    def replace(src, dst):
        tries.append(str(dst))
        if times is None or len(tries) <= times:
            raise PermissionError(errno.EACCES, SHARING_VIOLATION, str(src), None, str(dst))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return tries


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_file_held_for_a_moment_is_replaced_once_it_is_let_go(tmp_path, monkeypatch, waits):
    monkeypatch.setattr(sys, "platform", "win32")
    target = tmp_path / "last.json"
    target.write_text("old", encoding="utf-8")
    tries = _replace_refused(monkeypatch, times=3)  # a scanner that lets go by the 4th
    atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert len(tries) == 4
    assert waits == sorted(waits) and len(waits) == 3  # growing waits, one before each retry
    assert _leftovers(tmp_path) == []


def test_a_file_held_throughout_is_refused_with_the_program_and_the_fix_said(
        tmp_path, monkeypatch, waits):
    monkeypatch.setattr(sys, "platform", "win32")
    target = tmp_path / "last.safetensors"
    target.write_text("old", encoding="utf-8")
    _replace_refused(monkeypatch, times=None)
    with pytest.raises(PermissionError) as refused:
        atomic_write_text(target, "new")
    said = str(refused.value)
    assert str(target) in said and "another program" in said and "close" in said
    assert 0.5 < sum(waits) <= 2  # bounded: a run stops soon, not hangs
    assert target.read_text(encoding="utf-8") == "old"  # the old file is intact
    assert _leftovers(tmp_path) == []  # and no temporary file is left beside it


def test_a_read_only_file_is_said_to_be_read_only_without_waiting(tmp_path, monkeypatch, waits):
    monkeypatch.setattr(sys, "platform", "win32")
    target = tmp_path / "summary.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o444)  # the new file gets its mode: read-only too
    _replace_refused(monkeypatch, times=None)  # as Windows refuses to replace it
    real_unlink = os.unlink

    def unlink(path, **kw):  # and as Windows refuses to delete a read-only file
        if not os.stat(path).st_mode & stat.S_IWRITE:
            raise PermissionError(errno.EACCES, "Access is denied", str(path))
        real_unlink(path, **kw)

    monkeypatch.setattr(atomic.os, "unlink", unlink)
    with pytest.raises(PermissionError, match="read-only.*attrib -r") as refused:
        atomic_write_text(target, "new")
    assert str(target) in str(refused.value)
    assert waits == []
    assert target.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_posix_raises_a_refusal_at_once(tmp_path, monkeypatch, waits):
    # There a PermissionError is a folder's permissions, not a passing lock: no retry may
    # hide it, nor its words change.
    monkeypatch.setattr(sys, "platform", "linux")
    target = tmp_path / "config.yaml"
    target.write_text("old", encoding="utf-8")
    tries = _replace_refused(monkeypatch, times=1)
    with pytest.raises(PermissionError, match=SHARING_VIOLATION):
        atomic_write_text(target, "new")
    assert len(tries) == 1 and waits == []
    assert target.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_an_export_over_one_a_viewer_holds_waits_for_it(tmp_path, monkeypatch, waits):
    # Netron (or a running onnxruntime session) holding model.onnx ended a re-export with a
    # bare PermissionError, though the viewer lets go of it within a moment.
    from cnnlab.export import _replace

    monkeypatch.setattr(sys, "platform", "win32")
    staged, target = tmp_path / ".model.onnx.tmp", tmp_path / "model.onnx"
    for path, text in ((staged, "new"), (staged.with_suffix(".json"), "{}"), (target, "old")):
        path.write_text(text, encoding="utf-8")
    _replace_refused(monkeypatch, times=2)
    _replace(staged, target)
    assert target.read_text(encoding="utf-8") == "new"
    assert target.with_suffix(".json").exists() and not staged.exists()
