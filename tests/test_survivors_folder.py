"""A class folder is taken for a cnnlab run only with both a run's config.yaml and a
run's contents: a class keeping a `metrics.csv`, a `summary.json` or an empty
`checkpoints/` of its own beside its images stays a class.

Mutation testing (session 38, mutant D05: `is_run_folder`'s `and` made `or`) found no
test of it: the class was left out as a run, its images with it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PIL import Image
from test_mutation14_folder import _split_tree

from cnnlab.data.folder import load_folder
from cnnlab.data.folder_files import is_run_folder


@pytest.mark.parametrize("stray", ["metrics.csv", "summary.json", "checkpoints/"])
def test_a_class_with_a_runs_file_but_no_config_stays_a_class(data_env: Path,
                                                             stray: str) -> None:
    root = _split_tree(data_env / "photos") / "train"
    cat = root / "cat"
    if stray.endswith("/"):
        (cat / stray).mkdir()
    else:
        (cat / stray).write_text("notes\n", encoding="utf-8")
    assert not is_run_folder(cat)
    data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.classes == ["cat", "dog"]
    assert data.train.labels.bincount().tolist() == [2, 2]


def test_a_config_yaml_alone_does_not_make_a_folder_a_run(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("epochs: 1\n", encoding="utf-8")
    Image.new("RGB", (6, 6)).save(tmp_path / "0.png")
    assert not is_run_folder(tmp_path)
    (tmp_path / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    assert is_run_folder(tmp_path)  # config and a run's contents: a run


def test_a_hidden_folder_of_images_beside_the_classes_is_no_class(data_env: Path) -> None:
    # Mutant D02 (session 38: hidden folders counted as data folders) survived the folder
    # tests: a notebook's .ipynb_checkpoints/ beside cat/ and dog/ would be a class.
    root = _split_tree(data_env / "photos") / "train"
    (root / ".ipynb_checkpoints").mkdir()
    Image.new("RGB", (6, 6)).save(root / ".ipynb_checkpoints" / "0.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a class folder said to be left out
        data = load_folder(root, image_size=4, val_fraction=0.0, progress=False)
    assert data.classes == ["cat", "dog"]
