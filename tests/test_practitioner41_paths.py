"""Paths a user gives that cannot be what cnnlab reads say why and what to pass instead:
a quoted image pattern, a file given as a folder dataset, a hold-out share of 0."""

from __future__ import annotations

import zipfile

import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data.folder import FolderDatasetError, folder_root
from cnnlab.data.image_file import read_image


@pytest.mark.parametrize(("pattern", "folder"), [("new/*.png", "new"),
                                                 ("new/**/*.JPG", "new"),
                                                 ("shot?.jpg", ".")])
def test_a_pattern_not_expanded_says_cnnlab_does_not_expand_it(tmp_path, pattern, folder):
    # `cnnlab predict RUN "new/*.png"` said only "image not found: new/*.png".
    with pytest.raises(FileNotFoundError) as caught:
        read_image(tmp_path / pattern, channels=3)
    message = str(caught.value)
    assert "does not expand patterns" in message
    assert f"their folder ({tmp_path / folder}:" in message


def test_a_missing_plain_file_gets_no_pattern_hint(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        read_image(tmp_path / "gone.png", channels=3)
    assert "pattern" not in str(caught.value)


def test_a_file_given_as_a_folder_dataset_is_named_a_file(tmp_path):
    # folder:photos.zip said only "no such directory" of a file the user could see there.
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("cats/1.txt", "x")
    image = tmp_path / "cat.png"
    Image.new("RGB", (4, 4)).save(image)
    notes = tmp_path / "notes.txt"
    notes.write_text("x", encoding="utf-8")
    with pytest.raises(FolderDatasetError, match="; it is an archive: unpack it, and pass"):
        folder_root(archive)
    with pytest.raises(FolderDatasetError, match="; it is an image file: pass the folder"):
        folder_root(image)
    with pytest.raises(FolderDatasetError, match=r"; it is a file$"):
        folder_root(notes)
    with pytest.raises(FolderDatasetError, match=r"no such directory \(expected .*\)$"):
        folder_root(tmp_path / "gone")


def test_a_val_fraction_of_0_is_said_to_be_outside_the_range():
    # "between 0 and 1" refused 0 as if 0 were outside it.
    result = CliRunner().invoke(app, ["data", "info", "synthetic", "--val-fraction", "0"])
    assert result.exit_code == 2, result.output
    assert "more than 0 and less than 1" in result.stderr
