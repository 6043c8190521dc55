"""Class folders on a case-insensitive or normalising file system (macOS, Windows)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data.folder import FolderDatasetError, load_folder


def _tree(root: Path, classes: list[str]) -> Path:
    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(np.full((8, 8), 40 * i + j, np.uint8)).save(root / name / f"{j}.png")
    return root


def test_a_copy_from_a_mac_has_the_same_classes_in_the_same_order(tmp_path):
    # HFS+ (and zips made from it) hold "éclair" decomposed: the classes were named and
    # ordered otherwise, so a run trained on one copy was refused on the other.
    typed = _tree(tmp_path / "typed", ["\u00e9clair", "fries"])
    from_mac = _tree(tmp_path / "mac", [unicodedata.normalize("NFD", "\u00e9clair"), "fries"])
    load = dict(image_size=8, use_cache=False, progress=False)
    assert load_folder(typed, **load).classes == load_folder(from_mac, **load).classes \
        == ["fries", "\u00e9clair"]


@pytest.mark.parametrize("folders", [["Cat", "cat", "dog"], ["train/a", "train/b", "Train/a",
                                                             "Train/b", "val/a", "val/b"]])
def test_folders_that_are_one_on_macos_are_refused(tmp_path, folders):
    # Cat/ and cat/ were two classes; train/ and Train/: one of them silently unused.
    with pytest.raises(FolderDatasetError, match="differ only in case"):
        load_folder(_tree(tmp_path / "d", folders), image_size=8, use_cache=False,
                    progress=False)
