"""Gaps left by mutation27 in atomic.py and notices.py: a folder where a file is to be
written, a temporary name already taken, and FigureWarning seen as a RuntimeWarning."""

import os
import warnings
from pathlib import Path

import pytest

from cnnlab import atomic
from cnnlab.notices import FigureWarning


def test_a_folder_where_the_file_goes_is_named_as_the_folder_not_a_temporary_file(tmp_path):
    target = tmp_path / "metrics.csv"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic.atomic_write_bytes(target, lambda p: Path(p).write_bytes(b"x"))
    text = str(info.value)
    assert f"{target} is a folder" in text and "move the folder away" in text
    assert ".tmp" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]  # nothing left


def test_a_temporary_name_already_taken_is_never_reused(tmp_path, monkeypatch):
    names = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    # Someone else's file (here a link to another file) at the first name tried.
    os.symlink(victim, tmp_path / ".out.bin.aaaaaaaa.tmp")
    atomic.atomic_write_bytes(tmp_path / "out.bin", lambda p: Path(p).write_bytes(b"new"))
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not (tmp_path / "out.bin").is_symlink()
    assert (tmp_path / "out.bin").read_bytes() == b"new"


def test_a_script_filtering_runtime_warnings_filters_figure_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(FigureWarning):
            warnings.warn("a figure could not be drawn", FigureWarning, stacklevel=1)
