"""Class folders on file systems that match names otherwise than Linux does: macOS (case,
and accents however encoded) and Windows (case)."""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data.dataset import DataWarning
from cnnlab.data.folder import FolderDatasetError, load_folder
from cnnlab.data.folder_names import reencoded_names_problem, same_names

LOAD = dict(image_size=8, use_cache=False, progress=False)
ECLAIR, ECLAIR_FROM_A_MAC = "\u00e9clair", unicodedata.normalize("NFD", "\u00e9clair")


def _tree(root: Path, classes: list[str]) -> Path:
    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(np.full((8, 8), 40 * i + j, np.uint8)).save(root / name / f"{j}.png")
    return root


def test_class_names_compare_equal_however_their_accents_are_encoded():
    # A run trained on a Mac's copy (decomposed names) evaluated on the typed one: the same
    # classes, in the same order, where the accent does not decide the order.
    assert same_names(["caf\u00e9", "dog"], ["cafe\u0301", "dog"])
    assert not same_names(["cat", "dog"], ["cat", "bird"])
    assert reencoded_names_problem(["caf\u00e9", "dog"], ["cafe\u0301", "dog"]) is None
    assert reencoded_names_problem(["cat", "dog"], ["cat", "bird"]) is None  # other names


def test_a_copy_whose_encoding_sorted_the_classes_otherwise_is_refused_with_the_cause(
        tmp_path):
    # "e" + accent sorts before "fries", a composed "\u00e9" after it: the labels of one copy
    # mean the other's other class. Refused as "other classes: école; new: école" before.
    typed = load_folder(_tree(tmp_path / "typed", [ECLAIR, "fries"]), **LOAD).classes
    from_mac = load_folder(_tree(tmp_path / "mac", [ECLAIR_FROM_A_MAC, "fries"]), **LOAD).classes
    assert typed == ["fries", ECLAIR] and from_mac == [ECLAIR_FROM_A_MAC, "fries"]
    said = reencoded_names_problem(from_mac, typed)
    assert said and "accents encoded otherwise" in said and "other order" in said


def test_class_folders_one_name_however_encoded_are_refused_and_marked(tmp_path):
    # Two folders that look the same everywhere: école/ and école/ named no difference.
    root = _tree(tmp_path / "d", [ECLAIR, ECLAIR_FROM_A_MAC, "fries"])
    with pytest.raises(FolderDatasetError) as refused:
        load_folder(root, **LOAD)
    said = str(refused.value)
    assert f"{ECLAIR_FROM_A_MAC}/ (decomposed accents)" in said and f"{ECLAIR}/ " in said
    assert "differ only in case or in how an accent is encoded" in said
    assert "one class name here" in said


def test_class_folders_that_differ_in_case_load_here_and_are_warned_of(tmp_path):
    # Refused, a Linux dataset with Cat/ and cat/ (two classes that load) and every run
    # trained on it stopped working; a copy on a Mac would merge them: said.
    with pytest.warns(DataWarning, match="Cat/ and cat/ differ only in case: two classes here"):
        data = load_folder(_tree(tmp_path / "d", ["Cat", "cat", "dog"]), **LOAD)
    assert data.classes == ["Cat", "cat", "dog"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        load_folder(_tree(tmp_path / "e", ["cat", "dog"]), **LOAD)


def test_split_folders_that_are_one_on_macos_are_refused(tmp_path):
    # train/ and Train/: one of them was silently unused.
    root = _tree(tmp_path / "d", ["train/a", "train/b", "Train/a", "Train/b", "val/a", "val/b"])
    with pytest.raises(FolderDatasetError, match="train/ and Train/ differ only in case.*one "
                       "split, the other unused"):
        load_folder(root, **LOAD)
