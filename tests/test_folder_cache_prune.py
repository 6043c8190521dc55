"""The folder cache does not grow for ever: entries no run will read again go when a new
one is written."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.data import folder_cache
from cnnlab.data.folder import load_folder


def make_tree(root: Path, shade: int = 200) -> Path:
    for name, level in (("cat", shade), ("dog", 255 - shade)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            Image.new("L", (10, 10), level + i).save(root / name / f"{i}.png")
    return root


def load(root: Path, size: int = 8):
    return load_folder(root, image_size=size, channels=1, progress=False, val_fraction=0.5)


def sidecars(data_env: Path) -> dict[str, dict]:
    folder = data_env / "cache" / "folders"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_the_entry_of_a_deleted_folder_goes_when_another_is_written(data_env: Path):
    # It stayed for ever: a whole decoded copy of a dataset no longer there.
    old, kept = make_tree(data_env / "old"), make_tree(data_env / "kept", 100)
    load(old)
    load(kept)
    assert sorted(s["path"] for s in sidecars(data_env).values()) == [str(kept), str(old)]
    shutil.rmtree(old)
    load(make_tree(data_env / "new"))
    assert sorted(s["path"] for s in sidecars(data_env).values()) == [
        str(kept), str(data_env / "new")]
    left = {p.name.split(".")[0] for p in (data_env / "cache" / "folders").iterdir()}
    assert left == set(sidecars(data_env))  # its tensors and lock went too


def test_the_entry_of_a_folder_on_a_drive_not_mounted_now_is_kept(data_env: Path):
    # Where the folder was, the nearest folder there now is on another device than the
    # folder's (an unmounted drive's mount point): it may come back.
    drive = make_tree(data_env / "mnt" / "usb" / "pets")
    load(drive)
    (key, sidecar), = sidecars(data_env).items()
    assert sidecar["device"] == drive.stat().st_dev
    sidecar["device"] += 1  # as if it had been on another file system
    (data_env / "cache" / "folders" / f"{key}.json").write_text(json.dumps(sidecar))
    shutil.rmtree(drive)
    load(make_tree(data_env / "other"))
    assert key in sidecars(data_env)


def test_an_entry_from_before_the_device_was_kept_goes_only_from_a_folder_still_there(
        data_env: Path):
    gone, unmounted = make_tree(data_env / "data" / "gone"), make_tree(data_env / "mnt" / "a")
    (data_env / "data" / "notes.txt").write_text("the folder that held it holds more")
    load(gone)
    load(unmounted)
    for path in (data_env / "cache" / "folders").glob("*.json"):
        sidecar = json.loads(path.read_text())
        del sidecar["device"]
        path.write_text(json.dumps(sidecar))
    shutil.rmtree(gone)
    shutil.rmtree(unmounted)  # leaves mnt/ empty: a mount point, maybe
    load(make_tree(data_env / "other"))
    assert sorted(s["path"] for s in sidecars(data_env).values()) == [
        str(unmounted), str(data_env / "other")]


def test_a_newer_cnnlabs_entry_of_the_folder_is_not_taken_for_a_replaced_one(data_env):
    # Two cnnlab versions sharing a cache (two environments) would each remove the
    # other's entry, and each decode the folder every time.
    pets = make_tree(data_env / "pets")
    load(pets)
    (key, sidecar), = sidecars(data_env).items()
    sidecar["format"] = folder_cache.CACHE_FORMAT + 1
    (data_env / "cache" / "folders" / f"{key}.json").write_text(json.dumps(sidecar))
    os.utime(pets / "cat" / "0.png", ns=(1, 1))
    load(pets)
    assert key in sidecars(data_env) and len(sidecars(data_env)) == 2


def test_what_a_killed_write_left_goes_unless_a_process_holds_its_lock(data_env: Path):
    fcntl = pytest.importorskip("fcntl")
    folder = data_env / "cache" / "folders"
    folder.mkdir(parents=True)
    long_ago = time.time() - 2 * folder_cache.UNFINISHED_AFTER_S
    killed, busy, fresh = "a" * 32, "b" * 32, "c" * 32
    for key in (killed, busy, fresh):
        (folder / f"{key}.safetensors").write_bytes(b"x" * 1000)  # no sidecar
        (folder / f".{key}.json.0123abcd.tmp").write_text("{")
        (folder / f"{key}.lock").touch()
        if key != fresh:
            for path in folder.glob(f"*{key}*"):
                os.utime(path, (long_ago, long_ago))
    (folder / "README").write_text("not cnnlab's: left alone")
    with open(folder / f"{busy}.lock", "a", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        load(make_tree(data_env / "pets"))
    names = {p.name for p in folder.iterdir()}
    assert not any(killed in name for name in names)
    assert f"{busy}.safetensors" in names and f"{fresh}.safetensors" in names
    assert "README" in names
