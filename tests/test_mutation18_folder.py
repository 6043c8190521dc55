"""Tests from hand mutation testing (mutation18) of the folder dataset code: what is
taken for a cnnlab run's folder, and so left out of the data, is a run alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cnnlab.data import DataWarning
from cnnlab.data.folder import load_folder
from cnnlab.data.folder_files import PassedOver, image_files_under
from cnnlab.train.predict import image_paths

CLASSES = ("cats", "checkpoints", "plots")  # the last two are names a run's folder holds


def _classes(root: Path, names=CLASSES, per_class: int = 3) -> Path:
    for c, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (8, 8), 40 * c + i).save(root / name / f"{i}.png")
    return root


def _own_config(folder: Path) -> None:
    """A config.yaml a user keeps with the data (`cnnlab train --config`)."""
    (folder / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")


@pytest.mark.parametrize("beside", ["", "summary.json"])
def test_a_dataset_keeping_a_config_yaml_is_no_run(tmp_path, beside):
    # Its class folders plots/ and checkpoints/ (or a summary.json of its own) with the
    # config.yaml made the whole folder "a run": predict found no image in it.
    root = _classes(tmp_path / "photos")
    _own_config(root)
    if beside:
        (root / beside).write_text("{}", encoding="utf-8")
    passed_over = PassedOver()
    assert len(image_files_under(root, passed_over)) == 9 and not passed_over.runs
    assert len(image_paths(root)) == 9
    data = load_folder(root, image_size=8, progress=False, use_cache=False)
    assert data.classes == sorted(CLASSES)


def test_a_train_split_keeping_a_config_yaml_stays_a_split(tmp_path):
    # train/ holding config.yaml and a class plots/ was taken for a run: "holds only
    # the split folder(s) val", a tree split by hand refused.
    root = tmp_path / "photos"
    _classes(root / "train")
    _classes(root / "val", per_class=1)
    _own_config(root / "train")
    data = load_folder(root, image_size=8, progress=False, use_cache=False)
    assert (len(data.train), len(data.test), data.classes) == (9, 3, sorted(CLASSES))


@pytest.mark.parametrize("inside", ["plots", "checkpoints"])
def test_a_class_with_a_subfolder_named_as_a_runs_is_kept(tmp_path, inside):
    # Without config.yaml no folder is a run, whatever its subfolders are called.
    root = tmp_path / "photos"
    _classes(root, names=("dogs",))
    _classes(root / "cats", names=(inside,))
    data = load_folder(root, image_size=8, progress=False, use_cache=False)
    assert data.classes == ["cats", "dogs"]
    assert len(data.train) + len(data.test) == 6


def test_bench_zoo_takes_a_dataset_keeping_a_config_yaml(tmp_path, monkeypatch):
    # The zoo's check before any model read such a folder as a run: "no images found".
    from cnnlab.cli import bench

    root = _classes(tmp_path / "photos")
    _own_config(root)
    failed = []
    monkeypatch.setattr(bench, "fail_for", failed.append)
    bench._check_zoo_data(f"folder:{root}", None)
    assert failed == []


def test_a_real_runs_plots_are_still_left_out(tmp_path):
    root = _classes(tmp_path / "photos", names=("cats", "dogs"))
    run = root / "cats" / "runs" / "r1"
    (run / "plots").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    _own_config(run)
    (run / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    Image.new("RGB", (20, 20), "white").save(run / "plots" / "curves.png")
    passed_over = PassedOver()
    assert len(image_files_under(root / "cats", passed_over)) == 3
    assert passed_over.runs == [run]


@pytest.mark.parametrize("hidden", [".thumbnails", ".ipynb_checkpoints"])
def test_a_hidden_folder_of_images_beside_the_classes_is_no_class(tmp_path, hidden):
    # A file manager's .thumbnails/ (or Jupyter's checkpoints) at the top of the tree
    # holds PNGs: read as a class, a model would learn to tell thumbnails apart.
    root = _classes(tmp_path / "photos", names=("cats", "dogs", hidden))
    data = load_folder(root, image_size=8, progress=False, use_cache=False)
    assert data.classes == ["cats", "dogs"]
    assert len(data.train) + len(data.test) == 6


def test_macos_hidden_twins_of_undecoded_photos_are_not_counted(tmp_path):
    # A Mac copying to a USB stick writes "._IMG_1.heic" beside IMG_1.heic (its
    # metadata): the warning counted each photo twice, and named the hidden twins.
    root = _classes(tmp_path / "photos", names=("cats", "dogs"))
    (root / "cats" / "IMG_1.heic").write_bytes(b"\0" * 16)
    (root / "cats" / "._IMG_1.heic").write_bytes(b"\0" * 16)
    with pytest.warns(DataWarning) as caught:
        load_folder(root, image_size=8, progress=False, use_cache=False)
    said = " | ".join(str(w.message) for w in caught)
    assert "passed over 1 picture(s)" in said and "._IMG_1" not in said
    passed_over = PassedOver()
    image_files_under(root / "cats", passed_over)
    assert passed_over.undecoded == [root / "cats" / "IMG_1.heic"]
