"""Tests from hand mutation testing (mutation18) of the folder cache: what its pruning
removes, and in what order."""

from __future__ import annotations

import os
import time
from pathlib import Path

from folder_cache_helpers import load, make_tree

from cnnlab.data import folder_cache


def test_a_file_not_named_as_an_entry_is_left_alone(data_env: Path):
    # Only names of 32 hex digits are entries: another file of 32 characters (a user's,
    # a tool's) counted as a killed write's tensors an hour on, and was deleted.
    folder = data_env / "cache" / "folders"
    folder.mkdir(parents=True)
    other = folder / ("z" * 32 + ".safetensors")
    other.write_bytes(b"not cnnlab's")
    hours_ago = time.time() - 3 * 3600
    os.utime(other, (hours_ago, hours_ago))
    load(make_tree(data_env / "pets"))  # writing an entry prunes the others
    assert other.exists()


def test_an_entry_removed_halfway_is_never_read_half(data_env: Path, monkeypatch):
    # The sidecar marks an entry complete, so it goes first: a removal stopped at the
    # tensors (a file this user may not delete) left an entry that is never read.
    load(make_tree(data_env / "pets"))
    folder = data_env / "cache" / "folders"
    (sidecar,) = folder.glob("*.json")
    files = sorted(folder.glob(f"{sidecar.stem}*"))
    unlink = Path.unlink

    def refuse_tensors(path, missing_ok=False):
        if path.suffix == ".safetensors":
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse_tensors)
    entry = folder_cache._entry(folder / sidecar.stem, files)
    assert folder_cache.remove_entry(entry) is False
    assert not sidecar.exists() and sidecar.with_suffix(".safetensors").exists()
