"""What a user with their own image folder is told when it cannot be used as it is:
the file or folder named, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data import DataWarning
from cnnlab.data.folder import FolderDatasetError, load_folder

runner = CliRunner()


def images(folder: Path, count: int, grey: int = 100) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("L", (10, 10), grey + i).save(folder / f"{i}.png")


def test_a_held_out_class_whose_training_images_are_unreadable_says_so(data_env: Path
                                                                      ) -> None:
    """train/bird exists, but none of its files decode (left out as empty): the error
    said train/ "lacks" a folder the user could see there, and gave no fix."""
    root = data_env / "photos"
    for split, count in (("train", 3), ("val", 1)):
        images(root / split / "cat", count)
        images(root / split / "dog", count, grey=200)
    images(root / "val" / "bird", 1)
    (root / "train" / "bird").mkdir()
    (root / "train" / "bird" / "0.jpg").write_bytes(b"half a download")
    with pytest.warns(DataWarning), pytest.raises(FolderDatasetError) as caught:
        load_folder(root, image_size=8, progress=False)
    message = str(caught.value)
    assert "holds no readable images of (bird)" in message
    assert f"{root / 'train'}/bird/" in message and f"move {root / 'val'}/bird/ out" in message


def test_eval_on_a_folder_with_a_class_added_says_only_why_it_refuses(data_env: Path,
                                                                     monkeypatch) -> None:
    """A class folder added since training: eval warned first that the test split had
    "as many images, other labels", then refused for the classes."""
    root = data_env / "photos"
    images(root / "cat", 5)
    images(root / "dog", 5, grey=200)
    monkeypatch.chdir(data_env)
    trained = runner.invoke(app, ["train", "lenet_modern", "--data", f"folder:{root}",
                                  "--resize", "28", "--epochs", "1", "--batch-size", "4",
                                  "--device", "cpu", "--quiet", "--run-name", "r"])
    assert trained.exit_code == 0, trained.output
    images(root / "bird", 5, grey=30)
    result = runner.invoke(app, ["eval", "runs/r", "--device", "cpu"])
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "has the classes" in said, said
    assert "test split is not the one" not in said


def test_a_folder_loaded_with_nothing_held_out_is_not_called_one_image_a_class(
        data_env: Path) -> None:
    from cnnlab.data import DataError
    from cnnlab.train import TrainConfig, train

    root = data_env / "photos"
    images(root / "cat", 3)
    images(root / "dog", 3, grey=200)
    data = load_folder(root, image_size=28, channels=1, val_fraction=0, progress=False)
    with pytest.raises(DataError) as caught:
        train(TrainConfig(model="lenet_modern", epochs=1, device="cpu"), data=data,
              write_run_dir=False, console=False)
    assert "single image" not in str(caught.value)
    assert "val_fraction=0" in str(caught.value)
