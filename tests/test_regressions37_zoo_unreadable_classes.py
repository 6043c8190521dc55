"""`cnnlab bench zoo --data folder:PATH` whose class folders this user may not read says
so, with the loader's fix (chmod), before any model: its up-front check said "no images
found; expected one folder per class" of a tree that has them, the reason unsaid."""

from __future__ import annotations

import pytest
import typer
from PIL import Image
from test_non_root_permissions import deny_listing

from cnnlab.cli import bench


def test_unreadable_class_folders_are_named_not_taken_for_none(tmp_path, monkeypatch,
                                                               capsys):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "0.png")
    for name in ("cats", "dogs"):  # as for chmod 700 folders of another user
        deny_listing(monkeypatch, tmp_path / name)
    with pytest.raises(typer.Exit):
        bench._check_zoo_data(f"folder:{tmp_path}", None)
    said = " ".join(capsys.readouterr().err.split())
    assert "could not read 2 folder(s)" in said and "permission denied" in said, said
    assert "chmod -R a+rX" in said and "expected one folder per class" not in said, said


def test_the_loader_says_the_same_of_a_tree_it_cannot_read(tmp_path, monkeypatch):
    # The loader warned of the folders, then ended in "expected one folder per class":
    # now its error is the zoo check's words, once (no warning before it).
    import warnings

    from cnnlab.data import DataError, load_dataset

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "0.png")
        deny_listing(monkeypatch, tmp_path / name)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(DataError) as error:
        warnings.simplefilter("always")
        load_dataset(f"folder:{tmp_path}", image_size=8, use_cache=False, progress=False)
    said = " ".join(str(error.value).split())
    assert "no images found; could not read 2 folder(s)" in said, said
    assert "chmod -R a+rX" in said and "expected one folder per class" not in said, said
    assert not [w for w in caught if "could not read" in str(w.message)]
