"""Gaps left by mutation14 in cnnlab/data/folder_cache.py: the old entry of a folder
whose files changed, the tensors' private mode, and the order an entry is removed in."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from test_folder_cache_prune import load, make_tree, sidecars

from cnnlab.data import folder_cache


def test_a_folder_decoded_again_after_a_change_replaces_its_old_entry(data_env):
    pets = make_tree(data_env / "pets")
    load(pets)
    (old_key,) = sidecars(data_env)
    os.utime(pets / "cat" / "0.png", ns=(1, 1))  # a file changed: another key
    load(pets)
    (new_key,) = sidecars(data_env)
    assert new_key != old_key
    assert not list((data_env / "cache" / "folders").glob(f"{old_key}*"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_the_decoded_pixels_are_private_to_their_user(data_env):
    load(make_tree(data_env / "pets"))
    for suffix in (".safetensors", ".json"):
        (path,) = (data_env / "cache" / "folders").glob(f"*{suffix}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_entry_whose_tensors_cannot_be_removed_loses_its_sidecar_first(data_env,
                                                                          monkeypatch):
    load(make_tree(data_env / "pets"))
    (entry,) = folder_cache.cache_entries()
    real = Path.unlink

    def unlink(path, missing_ok=False):
        if path.suffix == ".safetensors":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert folder_cache.remove_entry(entry) is False
    # What is left is never read as an entry: its sidecar, the mark of one, went first.
    assert not entry.stem.with_suffix(".json").exists()
    assert entry.stem.with_suffix(".safetensors").exists()
