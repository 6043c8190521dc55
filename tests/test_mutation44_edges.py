"""More of the data layer the other tests leave unpinned: the cache lock beside another
user's lock file or on a mount without locks, a link where a user's own file is read,
a folder named as a data file, splits of two image sizes and ``~`` in $CNNLAB_CACHE."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from cnnlab.data import DatasetSplits, ImageData, cache_lock, cache_root
from cnnlab.data.access import open_own
from cnnlab.data.fashion_files import find_files
from cnnlab.file_lock import LockState


def _old_leftover(stem: Path) -> Path:
    leftover = stem.parent / f".{stem.name}.dddddddd.tmp"
    leftover.write_bytes(b"part")
    long_ago = time.time() - cache_lock.WRITING_GRACE_S - 60
    os.utime(leftover, (long_ago, long_ago))
    return leftover


def test_another_users_lock_file_is_neither_taken_nor_called_free(tmp_path) -> None:
    stem = tmp_path / "0123abcd"
    lock = stem.with_suffix(".lock")
    lock.touch()
    try:
        os.chown(lock, 4242, 4242)
    except PermissionError:
        pytest.skip("changing a file's owner needs root")
    leftover = _old_leftover(stem)
    assert not cache_lock.lock_free(stem)
    with cache_lock.decoding_lock(stem) as waited:  # decoded without the lock
        assert waited is False and leftover.exists()


def test_no_leftover_is_removed_on_a_mount_without_locks(tmp_path, monkeypatch) -> None:
    # No lock held: a write may be going on now, whatever the leftovers' age.
    stem = tmp_path / "0123abcd"
    leftover = _old_leftover(stem)
    monkeypatch.setattr(cache_lock.file_lock, "try_lock",
                        lambda handle, wait=0.0: LockState.NO_LOCKS)
    with cache_lock.decoding_lock(stem):
        assert leftover.exists()


def test_a_link_is_not_read_as_this_users_own_file(tmp_path) -> None:
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.close(open_own(tmp_path / "real"))
    with pytest.raises(OSError):
        open_own(tmp_path / "link")


def test_a_folder_named_as_a_raw_data_file_is_passed_over_for_its_gz(tiny_fashion,
                                                                     data_env) -> None:
    tiny = tiny_fashion(data_env / "d")
    (tiny.directory / "t10k-labels-idx1-ubyte").mkdir()
    files = find_files(tiny.directory)
    assert files["t10k-labels-idx1-ubyte"].name == "t10k-labels-idx1-ubyte.gz"


def test_splits_of_two_image_sizes_are_refused() -> None:
    train = ImageData(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]))
    test = ImageData(torch.zeros(2, 1, 8, 6, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"mine: train images are \(1, 8, 8\) but test "
                                         r"images are \(1, 8, 6\)"):
        DatasetSplits("mine", train, test, ["a", "b"], "here")


def test_a_cache_under_the_home_folder_is_written_with_a_tilde(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CNNLAB_CACHE", "~/scratch/cnnlab")
    assert cache_root() == tmp_path / "scratch" / "cnnlab"



@pytest.mark.parametrize(("spec", "fix"), [("synthetic", "it is generated, from no files"),
                                           ("folder:photos", "its folder is in the spec")])
def test_a_data_root_for_another_dataset_is_refused_not_ignored(spec, fix) -> None:
    from cnnlab.data import UnknownDatasetError, load_dataset

    with pytest.raises(UnknownDatasetError, match=f"a data root applies to fashion-mnist "
                                                  f"only; {fix}"):
        load_dataset(spec, root="/data")
