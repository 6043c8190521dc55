"""What cnnlab writes near a user's image folder is never taken for its images: run
folders (their plots are PNGs) and `cnnlab data show`'s grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data import DataWarning
from cnnlab.data.folder import load_folder
from cnnlab.train.predict import image_paths

runner = CliRunner()


def two_classes(root: Path, per_class: int = 4) -> Path:
    for label, grey in (("dark", 10), ("light", 240)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (12, 12), grey + (i if grey < 128 else -i)).save(
                root / label / f"{i}.png")
    return root


def fake_run(folder: Path) -> Path:
    """What `cnnlab train` leaves: config.yaml, checkpoints, and PNG plots."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    (folder / "plots").mkdir()
    Image.new("RGB", (40, 30), "white").save(folder / "plots" / "curves.png")
    return folder


def test_run_folders_inside_the_data_are_left_out_and_named(data_env: Path) -> None:
    root = two_classes(data_env / "photos")
    fake_run(root / "runs" / "20261206-101500-lenet_modern")  # a folder of runs: no class
    fake_run(root / "dark" / "runs" / "20261206-101600-lenet_modern")  # plots as "dark"
    with pytest.warns(DataWarning) as caught:
        data = load_folder(root, image_size=8, progress=False)
    warned = " | ".join(str(w.message) for w in caught)
    assert data.classes == ["dark", "light"]
    assert len(data.train) + len(data.test) == 8
    assert "left out 2 cnnlab run folder(s)" in warned
    assert "runs/20261206-101500-lenet_modern" in warned and "--out-dir" in warned
    assert image_paths(root / "dark") == sorted((root / "dark").glob("*.png"))


def test_a_split_tree_with_runs_beside_its_splits_stays_split(data_env: Path) -> None:
    root = data_env / "photos"
    two_classes(root / "train")
    two_classes(root / "val", per_class=2)
    fake_run(root / "runs" / "20261206-101500-lenet_modern")
    with pytest.warns(DataWarning, match="left out 1 cnnlab run folder"):
        data = load_folder(root, image_size=8, progress=False)
    assert (len(data.train), len(data.test), data.classes) == (8, 4, ["dark", "light"])


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_training_twice_from_inside_the_folder_keeps_its_classes(data_env: Path,
                                                                  monkeypatch) -> None:
    """`cnnlab train --data folder:.` writes runs/ into the data: the second run had a
    class "runs" of the first one's plots, and the first run could no longer resume."""
    root = two_classes(data_env / "photos")
    monkeypatch.chdir(root)
    command = ["train", "lenet_modern", "--data", "folder:.", "--resize", "28",
               "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--quiet"]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert list((root / "runs").glob("*/plots/*.png"))  # what was taken for images
    second = runner.invoke(app, [*command, "--run-name", "again"])
    assert second.exit_code == 0, second.output
    assert "left out 1 cnnlab run folder" in " ".join(second.output.split())
    summary = json.loads((root / "runs" / "again" / "summary.json").read_text(encoding="utf-8"))
    assert summary["classes"] == ["dark", "light"]
    (run,) = [p for p in (root / "runs").iterdir() if p.name != "again"]
    resumed = runner.invoke(app, ["resume", str(run), "--epochs", "1", "--quiet"])
    assert resumed.exit_code == 0, resumed.output


def test_data_show_never_writes_its_grid_into_the_image_folder(data_env: Path,
                                                                monkeypatch) -> None:
    root = two_classes(data_env / "photos")
    before = (root / "dark" / "0.png").read_bytes()
    over = runner.invoke(app, ["data", "show", f"folder:{root}", "--image-size", "8",
                               "--out", str(root / "dark" / "0.png")])
    assert over.exit_code == 2 and "would replace that image" in " ".join(over.output.split())
    assert (root / "dark" / "0.png").read_bytes() == before
    monkeypatch.chdir(root)  # the default grid.png would land in the folder
    beside = runner.invoke(app, ["data", "show", "folder:.", "--image-size", "8"])
    assert beside.exit_code == 2 and f"{data_env / 'photos-grid.png'}" in beside.output
    assert not (root / "grid.png").exists()
    elsewhere = runner.invoke(app, ["data", "show", "folder:.", "--image-size", "8",
                                    "--out", str(data_env / "grid.png")])
    assert elsewhere.exit_code == 0, elsewhere.output
