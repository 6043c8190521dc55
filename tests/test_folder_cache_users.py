"""A folder cache users share (a group-writable CNNLAB_CACHE on a lab server): the key is
the folder's content, the same for every user, so one user's entry was read as another's
(any pixels and labels its owner put there), replaced by theirs, and removed by their
`cnnlab data cache --clear`. Now another user's entry is never read, replaced, waited on
or removed, and each user keeps their own beside it. A private cache keeps its keys.

"Another user" is played by changing whose the process is (os.geteuid, and the owner its
files get in the cache folder: access.own_uid), where that user only reads, lists or
clears; where the other user writes too, their entry is handed to another user id (chown:
root only). A mount that maps owners (NFS all_squash) is played by changing os.geteuid
alone: the files this process makes are then another id's, as there."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from folder_cache_helpers import load, make_tree
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data import access, folder_cache
from cnnlab.data import folder as folder_mod

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")


def entries(data_env: Path) -> list[str]:
    return sorted(p.stem for p in (data_env / "cache" / "folders").glob("*.json"))


def as_another_user(monkeypatch, cache: Path) -> int:
    """This process as another user: their id, and the owner their files get in the
    cache folder ``cache``."""
    other = os.geteuid() + 4242
    monkeypatch.setattr(os, "geteuid", lambda: other)
    monkeypatch.setitem(access._OWN_UIDS, str(cache), other)
    monkeypatch.setattr(folder_cache, "_told_not_readable", set())
    return other


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown: root")
def test_another_users_entry_is_not_read_and_each_keeps_their_own(data_env):
    pets = make_tree(data_env / "pets")
    load(pets)
    (theirs,) = entries(data_env)
    # What its owner may put there: pixels that are none of the folder's.
    path = data_env / "cache" / "folders" / f"{theirs}.safetensors"
    tensors = folder_cache.load_file(path)
    tensors["images"].fill_(7)
    folder_cache.save_file(tensors, path)
    for theirs_file in path.parent.iterdir():
        os.chown(theirs_file, 4242, 4242)
        theirs_file.chmod(0o644)  # readable: as if shared on purpose, or planted
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(pets)
        assert 7 not in data.train.images  # decoded from the folder, not read
        mine = sorted(set(entries(data_env)) - {theirs})
        assert len(mine) == 1  # beside theirs, not over it
        load(pets)  # and read from the cache next time: nothing said, nothing decoded
    assert not caught, [str(w.message) for w in caught]
    assert entries(data_env) == sorted([theirs, *mine])


def test_a_private_cache_keeps_its_keys(data_env):
    pets = make_tree(data_env / "pets")
    load(pets)
    files = sorted(pets.rglob("*.png"))
    key = folder_cache.cache_key(pets, (8, 8), 1, files)
    assert entries(data_env) == [key]


def test_another_users_entry_under_ones_own_key_is_told_and_not_read(tmp_path, monkeypatch):
    stem = tmp_path / "folders" / ("0" * 32)
    decoded = folder_cache.DecodedTree(np.full((2, 1, 4, 4), 7, np.uint8),
                                       np.array([0, 1], np.int64), ["a", "b"], [], [])
    folder_cache.save_cache(stem, decoded, {"path": "/x", "size": [4, 4], "channels": 1})
    as_another_user(monkeypatch, stem.parent)
    with pytest.warns(UserWarning, match="not this user's, and not read") as caught:
        assert folder_cache.load_cache(stem, (1, 4, 4)) is None
    assert "CNNLAB_CACHE" in str(caught[0].message)


def test_data_cache_clear_leaves_another_users_entries(data_env, monkeypatch):
    load(make_tree(data_env / "pets"))
    (theirs,) = entries(data_env)
    as_another_user(monkeypatch, data_env / "cache" / "folders")
    result = CliRunner().invoke(app, ["data", "cache", "--clear"])
    assert result.exit_code == 0, result.output
    assert "removed 0 entries" in result.output and "another user's" in result.output
    assert entries(data_env) == [theirs]


def test_on_a_mount_that_maps_owners_ones_own_entry_is_read(data_env, monkeypatch):
    # NFS all_squash, CIFS or exFAT mounted with uid=: every file made there is owned by
    # the mapped user, not by the one making it. Each run decoded the folder again and
    # wrote a second entry, warned that its own was "another user's", and could not prune.
    pets = make_tree(data_env / "pets")
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 4242)  # files: getuid's
    decodes, decode = [], folder_mod._decode_images
    monkeypatch.setattr(folder_mod, "_decode_images",
                        lambda *a, **k: decodes.append(1) or decode(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            load(pets)
    assert len(decodes) == 1 and len(entries(data_env)) == 1
    assert [e.state for e in folder_cache.cache_entries()] == ["ok"]


def test_an_entry_is_checked_as_opened_not_by_its_name(tmp_path, monkeypatch):
    # In a shared folder without the sticky bit, another user could rename their file
    # over this user's between the check of its owner (by name) and its read (by name).
    # Played: the names say "this user's"; the files opened are another id's.
    stem = tmp_path / "folders" / ("0" * 32)
    decoded = folder_cache.DecodedTree(np.full((2, 1, 4, 4), 7, np.uint8),
                                       np.array([0, 1], np.int64), ["a", "b"], [], [])
    folder_cache.save_cache(stem, decoded, {"path": "/x", "size": [4, 4], "channels": 1})
    mine = as_another_user(monkeypatch, stem.parent)
    lstat = os.lstat

    def checked_by_name(path, *args, **kwargs):
        found = lstat(path, *args, **kwargs)
        if Path(path).parent == stem.parent:
            return os.stat_result((*tuple(found)[:4], mine, *tuple(found)[5:]))
        return found

    monkeypatch.setattr(os, "lstat", checked_by_name)
    with pytest.warns(UserWarning, match="not this user's, and not read"):
        assert folder_cache.load_cache(stem, (1, 4, 4)) is None


def test_an_owner_probe_a_killed_process_left_is_removed_by_the_next(tmp_path, monkeypatch):
    # own_uid makes and removes a file in the cache folder; a kill between the two left
    # it, and nothing listed or removed it.
    monkeypatch.setattr(access, "_OWN_UIDS", {})
    lost, probing = tmp_path / ".cnnlab-owner.0a1b2c3d.tmp", tmp_path / ".cnnlab-owner.9.tmp"
    lost.touch()
    probing.touch()
    os.utime(lost, (1_000_000, 1_000_000))  # long ago
    assert access.own_uid(tmp_path) == os.geteuid()
    assert not lost.exists() and probing.exists()  # one probing now keeps its file
    assert sorted(p.name for p in tmp_path.iterdir()) == [probing.name]
