"""A kill while safetensors writes a checkpoint leaves its own temporary file
(``.tmpXXXXXX``, the Rust tempfile crate's name) in checkpoints/: a resume removes it
with cnnlab's own leftovers, and leaves other files alone."""

from __future__ import annotations

import torch
from safetensors.torch import save

from cnnlab.atomic import remove_leftover_temp_files

SAFETENSORS_START = save({"w": torch.zeros(4)})[:40]  # a write cut short


def test_a_users_own_tmp_file_and_an_empty_leftover(tmp_path):
    (tmp_path / ".tmpbackup").write_text("my notes, not a checkpoint", encoding="utf-8")
    (tmp_path / ".tmpnote01").write_text("short", encoding="utf-8")  # under 9 bytes
    (tmp_path / ".tmpa1b2c3").write_bytes(b"")  # killed before safetensors wrote a byte
    (tmp_path / ".tmpfolder").mkdir()
    assert remove_leftover_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmpbackup", ".tmpfolder",
                                                             ".tmpnote01"]


def test_safetensors_leftover_temp_file_is_removed(tmp_path):
    (tmp_path / ".tmpq1buqu").write_bytes(SAFETENSORS_START + b"x" * 100)  # as a SIGKILL left one
    (tmp_path / ".last.safetensors.0123abcd.tmp").write_bytes(b"y")
    kept = [".tmp", ".tmp1234567", "tmpq1buqu", "last.safetensors", ".tmp-a_b!c"]
    for name in kept:
        (tmp_path / name).write_bytes(b"z")
    assert remove_leftover_temp_files(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_a_named_file_leaves_the_safetensors_temp_alone(tmp_path):
    (tmp_path / ".tmpq1buqu").write_bytes(b"x")
    assert remove_leftover_temp_files(tmp_path, "report.html") == 0
    assert (tmp_path / ".tmpq1buqu").exists()
