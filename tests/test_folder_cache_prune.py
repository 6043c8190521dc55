"""The folder cache does not grow for ever: entries no run will read again go when a new
one is written, `cnnlab data cache` lists and clears them, and `data info` says its size."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data import cache_lock, folder_cache
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
    # Every write holds its entry's lock: beside a lock none holds, pieces untouched for
    # WRITING_GRACE_S are a killed write's (younger ones may be another host's, where
    # flock is local to each host). Without a lock file that cannot be told: an hour.
    fcntl = pytest.importorskip("fcntl")
    folder = data_env / "cache" / "folders"
    folder.mkdir(parents=True)
    long_ago = time.time() - 2 * folder_cache.UNFINISHED_AFTER_S
    lately = time.time() - cache_lock.WRITING_GRACE_S - 60
    killed, busy, recent, fresh, unlocked = (c * 32 for c in "abcde")
    for key in (killed, busy, recent, fresh, unlocked):
        (folder / f"{key}.safetensors").write_bytes(b"x" * 1000)  # no sidecar
        (folder / f".{key}.json.0123abcd.tmp").write_text("{")
        if key != unlocked:
            (folder / f"{key}.lock").touch()
        when = {killed: long_ago, busy: long_ago, recent: lately}.get(key)
        for path in folder.glob(f"*{key}*") if when else ():
            os.utime(path, (when, when))
    (folder / "README").write_text("not cnnlab's: left alone")
    with open(folder / f"{busy}.lock", "a", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        load(make_tree(data_env / "pets"))
    names = {p.name for p in folder.iterdir()}
    assert not any(killed in name or recent in name for name in names)
    assert f"{busy}.safetensors" in names and f"{unlocked}.safetensors" in names
    assert f"{fresh}.safetensors" in names
    assert "README" in names


def cli(*args: str):
    result = CliRunner().invoke(app, ["data", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_data_cache_lists_the_entries_and_clears_them(data_env: Path):
    pets = make_tree(data_env / "pets")
    load(pets)
    load(pets, size=12)
    result = cli("cache")
    assert result.exit_code == 0, result.output
    assert str(pets) in result.output and "8x8" in result.output and "12x12" in result.output
    assert "2 entries" in result.output and "--clear" in result.output
    assert str(data_env / "cache" / "folders") in result.output
    result = cli("cache", "--clear")
    assert result.exit_code == 0 and "removed 2 entries" in result.output, result.output
    assert not list((data_env / "cache" / "folders").iterdir())
    assert "empty" in cli("cache").output


def test_data_cache_clear_leaves_an_entry_being_decoded(data_env: Path):
    fcntl = pytest.importorskip("fcntl")
    pets = make_tree(data_env / "pets")
    load(pets)
    (lock,) = (data_env / "cache" / "folders").glob("*.lock")
    with open(lock, "a", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = cli("cache", "--clear")
    assert result.exit_code == 0, result.output
    assert "being written" in result.output and "left 1" in result.output
    assert lock.with_suffix(".safetensors").exists()


def test_data_cache_prune_removes_only_the_entries_of_deleted_folders(data_env: Path):
    gone, kept = make_tree(data_env / "gone"), make_tree(data_env / "kept")
    load(gone)
    load(kept)
    shutil.rmtree(gone)
    assert "folder gone" in cli("cache").output
    result = cli("cache", "--prune")
    assert result.exit_code == 0 and "removed 1 entry" in result.output, result.output
    assert [s["path"] for s in sidecars(data_env).values()] == [str(kept)]


def test_data_info_on_a_folder_says_what_its_cache_takes(data_env: Path):
    pets = make_tree(data_env / "pets")
    result = CliRunner().invoke(app, ["data", "info", f"folder:{pets}", "--image-size", "8",
                                      "--channels", "1"])
    assert result.exit_code == 0, result.output
    assert "cache:" in result.output and "cnnlab data cache" in result.output


def test_an_error_while_removing_is_not_told_as_raised_handling_a_missing_lock(tmp_path):
    # Yielded inside `except OSError:`, an error of the removal itself read in its
    # traceback "During handling of the above exception (FileNotFoundError: KEY.lock)".
    with pytest.raises(ValueError, match="the removal's own") as caught:
        with cache_lock.removal_lock(tmp_path / ("0" * 32)):
            raise ValueError("the removal's own")
    assert caught.value.__context__ is None
