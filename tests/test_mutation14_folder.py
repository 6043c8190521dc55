"""Folder datasets: cases that hand mutation testing of cnnlab.data.folder* found
untested (session 38, mutation14): which folders make a tree "already split", the split
of a small class, the cache key, hidden and linked files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import folder_files
from cnnlab.data.folder import FolderDatasetError, load_folder, split_indices
from cnnlab.data.folder_cache import cache_key

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _split_tree(root: Path) -> Path:
    for split in ("train", "val"):
        for name, colour in (("cat", RED), ("dog", BLUE)):
            (root / split / name).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (6, 6), colour).save(root / split / name / f"{i}.png")
    return root


@pytest.mark.parametrize("beside", ["runs", "notes"])
def test_a_folder_without_images_beside_train_and_val_leaves_them_splits(
        data_env: Path, beside: str) -> None:
    # An empty runs/ (or notes/ holding a README) beside train/ and val/ made the tree one
    # of three classes, "train", "val" and the empty one: a model learnt which split an
    # image came from, and was scored on the training images' class.
    root = _split_tree(data_env / "photos")
    (root / beside).mkdir()
    if beside == "notes":
        (root / beside / "README.txt").write_text("where the photos came from", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn of: the empty folder holds no data
        data = load_folder(root, image_size=4, progress=False)
    assert data.classes == ["cat", "dog"]
    assert "train from train/" in data.source and "test from val/" in data.source
    assert len(data.train.labels) == 4 and len(data.test.labels) == 4


def test_a_folder_of_images_beside_train_and_val_still_makes_them_classes(
        data_env: Path) -> None:
    # Only a folder without images is passed over: one with images is a class as before.
    root = _split_tree(data_env / "photos")
    (root / "extra").mkdir()
    Image.new("RGB", (6, 6), RED).save(root / "extra" / "0.png")
    data = load_folder(root, image_size=4, progress=False)
    assert data.classes == ["extra", "train", "val"]


def test_a_class_of_two_images_gives_one_to_the_test_split() -> None:
    # round(2 * 0.2) is 0: a class of two images must still be scored on one of them.
    labels = np.repeat(np.arange(3), [2, 2, 10])
    train, val = split_indices(labels, 0.2, seed=0)
    assert np.bincount(labels[val], minlength=3).tolist() == [1, 1, 2]
    assert np.bincount(labels[train], minlength=3).tolist() == [1, 1, 8]


def test_a_large_fraction_never_holds_out_a_whole_class() -> None:
    # round(2 * 0.8) is 2: a class must keep one image to train on, whatever the fraction.
    labels = np.repeat(np.arange(2), [2, 5])
    train, val = split_indices(labels, 0.8, seed=0)
    assert np.bincount(labels[train], minlength=2).tolist() == [1, 1]
    assert np.bincount(labels[val], minlength=2).tolist() == [1, 4]


def test_a_folder_in_grey_and_in_colour_keeps_a_cache_entry_for_each(data_env: Path) -> None:
    # The key holds the channels: with one key for both, each load found the other's
    # entry, said it was inconsistent, and decoded the folder again.
    root = _split_tree(data_env / "photos") / "train"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for channels in (3, 1, 3, 1):
            data = load_folder(root, image_size=4, channels=channels, progress=False)
            assert data.train.images.shape[1] == channels
    assert "decoded cache" in data.source
    assert len(list((data_env / "cache" / "folders").glob("*.safetensors"))) == 2


def test_the_cache_key_tells_a_moved_or_edited_file_where_ctime_stays(data_env: Path) -> None:
    # On Windows st_ctime is the creation time, which a move (a mislabelled photo put in
    # its right class) or an edit in place keeps: the key's other fields must tell them,
    # or the cache serves the old labels or pixels. (On Linux the ctime alone tells.)
    stats: dict[str, SimpleNamespace] = {}

    class Stated(type(Path())):  # a file's stat as a test sets it
        def stat(self, *, follow_symlinks: bool = True) -> SimpleNamespace:
            return stats[self.name]

    root = Stated(data_env / "photos")

    def key(relative: str, size: int = 100, mtime: int = 5) -> str:
        stats[Path(relative).name] = SimpleNamespace(st_size=size, st_mtime_ns=mtime,
                                                     st_ctime_ns=1)
        return cache_key(root, (8, 8), 3, [root / relative])

    first = key("cat/1.png")
    assert key("cat/1.png") == first  # the same file: the same entry
    assert len({first, key("dog/1.png"), key("cat/1.png", size=101),
                key("cat/1.png", mtime=6)}) == 4


def test_hidden_files_and_folders_deep_in_a_class_are_left_out(data_env: Path) -> None:
    # A hidden thing at any depth is no data: a .thumbnails/ folder of a photo app inside
    # a class gave each image a second, smaller copy (one trained on, one tested on).
    root = _split_tree(data_env / "photos") / "train"
    (root / "cat" / "2024" / ".thumbnails").mkdir(parents=True)
    Image.new("RGB", (6, 6), RED).save(root / "cat" / "2024" / ".thumbnails" / "0.png")
    Image.new("RGB", (6, 6), RED).save(root / "cat" / "2024" / ".hidden.png")
    data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.train.labels.bincount().tolist() == [2, 2]


def test_a_link_back_up_a_class_is_walked_once_and_not_warned_of(data_env: Path) -> None:
    # A cycle (cat/loop -> cat) is followed once: walked on, it went 40 links deep, each
    # level listed again, until the system refused a path that long.
    root = _split_tree(data_env / "photos") / "train"
    (root / "cat" / "loop").symlink_to(root / "cat", target_is_directory=True)
    listed = []
    real_walk = os.walk

    def walk(top, *args, **kwargs):
        for here, dirs, names in real_walk(top, *args, **kwargs):
            listed.append(here)
            yield here, dirs, names

    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("error")
        patch.setattr(folder_files.os, "walk", walk)
        data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.train.labels.bincount().tolist() == [2, 2]
    assert len(listed) <= 4  # cat, cat/loop (seen: not entered), dog


def test_an_image_and_a_link_to_it_give_the_images_own_path(data_env: Path) -> None:
    # One image, two names: the file's own name is the one kept (warnings and errors name
    # it; deleting the link changes nothing), whichever name sorts first.
    cat = data_env / "cat"
    cat.mkdir()
    Image.new("RGB", (6, 6), RED).save(cat / "b.png")
    (cat / "a-link.png").symlink_to(cat / "b.png")
    assert folder_files.image_files_under(cat) == [cat / "b.png"]


@pytest.mark.parametrize(("only", "add"), [("train", "a val or test folder"),
                                           ("val", "a train folder")])
def test_a_tree_of_one_split_says_which_split_to_add(data_env: Path, only: str,
                                                     add: str) -> None:
    root = data_env / "photos"
    (root / only / "cat").mkdir(parents=True)
    Image.new("RGB", (6, 6), RED).save(root / only / "cat" / "0.png")
    with pytest.raises(FolderDatasetError, match=f"or add {add} beside it"):
        load_folder(root, image_size=4, progress=False)


def test_a_folder_holds_out_a_fifth_of_each_class_by_default(data_env: Path) -> None:
    root = data_env / "photos"
    for name, colour in (("cat", RED), ("dog", BLUE)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (4, 4), colour).save(root / name / f"{i}.png")
    data = load_folder(root, image_size=4, progress=False)
    assert data.test.class_counts(2) == [2, 2]  # round(12 * 0.2), as documented


def test_a_file_given_as_the_folder_is_said_to_be_no_directory(data_env: Path) -> None:
    # A file there (a zip not yet unpacked) went on to a traceback listing it.
    archive = data_env / "photos.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(FolderDatasetError, match="no such directory"):
        load_folder(archive, image_size=4, progress=False)
