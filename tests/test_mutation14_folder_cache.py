"""The folder cache: cases that hand mutation testing of cnnlab.data.folder_cache found
untested (session 38, mutation14)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from folder_cache_helpers import load, make_tree

from cnnlab.data import DataWarning, cache_lock, folder_cache


def _piece_without_a_lock(folder: Path, key: str, age_s: float) -> Path:
    """A write's temporary piece with no lock file beside it (a mount without locks, or a
    write that could not make one), untouched for ``age_s`` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    piece = folder / f".{key}.safetensors.0123abcd.tmp"
    piece.write_bytes(bytes(64))
    then = time.time() - age_s
    os.utime(piece, (then, then))
    return piece


@pytest.mark.parametrize(("age_s", "kept"), [
    (cache_lock.WRITING_GRACE_S + 60, True),  # a write elsewhere may still be going
    (folder_cache.UNFINISHED_AFTER_S + 60, False),  # no write takes this long: killed
])
def test_pieces_with_no_lock_to_ask_wait_an_hour_before_they_are_removed(
        data_env: Path, age_s: float, kept: bool) -> None:
    # Where no lock tells whether a write goes on, the grace is the hour, not the ten
    # minutes a free lock gives: a slow write on another host lost its pieces midway.
    folder = data_env / "cache" / "folders"
    piece = _piece_without_a_lock(folder, "c" * 32, age_s)
    (entry,) = folder_cache.cache_entries(folder)
    assert entry.state == ("being written" if kept else "unfinished")
    load(make_tree(data_env / "pets"))  # a decode prunes what no run reads again
    assert piece.exists() == kept


def test_an_entry_of_a_folder_this_user_may_not_look_at_is_not_gone(
        data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Not allowed to look (a parent folder made private): not known to be gone, so the
    # entry stays; taken for gone, another user's chmod cost this one the whole decode.
    def refused(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(folder_cache.os, "stat", refused)
    assert not folder_cache._folder_gone({"path": str(data_env / "private" / "pets"),
                                          "device": 1})


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown: root")
def test_tensors_of_another_user_beside_ones_own_sidecar_are_not_read(
        data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sidecar is checked and so are the tensors: another user who may write in a
    # shared cache could put any pixels under this user's key.
    monkeypatch.setattr(folder_cache, "_told_not_readable", set())
    load(make_tree(data_env / "pets"))
    (tensors,) = (data_env / "cache" / "folders").glob("*.safetensors")
    os.chown(tensors, 4242, 4242)
    with pytest.warns(DataWarning, match="not this user's, and not read"):
        assert folder_cache.load_cache(tensors.with_suffix(""), (1, 8, 8)) is None


def test_a_cache_entry_of_another_image_size_is_not_used(data_env: Path) -> None:
    # Its key says the size, and so must its tensors: one of another shape (a damaged or
    # planted entry) gave the model images of a size it was not built for.
    load(make_tree(data_env / "pets"))
    (tensors,) = (data_env / "cache" / "folders").glob("*.safetensors")
    stored = folder_cache.load_file(tensors)
    stored["images"] = stored["images"][:, :, :4, :4].contiguous()
    folder_cache.save_file(stored, tensors)
    with pytest.warns(DataWarning, match="ignoring inconsistent cache"):
        assert folder_cache.load_cache(tensors.with_suffix(""), (1, 8, 8)) is None


def test_a_cache_entry_with_labels_past_its_classes_is_not_used(data_env: Path) -> None:
    # A label must name one of the sidecar's classes: the last label equal to the number of
    # classes is one past them (a damaged or planted entry).
    load(make_tree(data_env / "pets"))
    (sidecar,) = (data_env / "cache" / "folders").glob("*.json")
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta["classes"] = meta["classes"][:-1]
    sidecar.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(DataWarning, match="ignoring inconsistent cache"):
        assert folder_cache.load_cache(sidecar.with_suffix(""), (1, 8, 8)) is None


def test_a_cache_entry_with_fewer_labels_than_images_is_not_used(data_env: Path) -> None:
    load(make_tree(data_env / "pets"))
    (tensors,) = (data_env / "cache" / "folders").glob("*.safetensors")
    stored = folder_cache.load_file(tensors)
    stored["labels"] = stored["labels"][1:].contiguous()
    folder_cache.save_file(stored, tensors)
    with pytest.warns(DataWarning, match="ignoring inconsistent cache"):
        assert folder_cache.load_cache(tensors.with_suffix(""), (1, 8, 8)) is None
