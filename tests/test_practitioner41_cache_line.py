"""`cnnlab data info folder:PATH` says what that folder's decoded copies take in the
cache: it gave only the whole cache's total, every folder's (and user's) together."""

from __future__ import annotations

from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app


def _two_classes(root):
    for i, name in enumerate(("cats", "dogs")):
        (root / name).mkdir(parents=True)
        for j in range(5):
            Image.new("RGB", (6, 6), (40 * i, 9 * j, 0)).save(root / name / f"{j}.png")


def _info(folder, size):
    result = CliRunner().invoke(app, ["data", "info", f"folder:{folder}", "--image-size",
                                      str(size)], terminal_width=300)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_info_counts_this_folders_entries_apart_from_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    mine, other = tmp_path / "mine", tmp_path / "mine-other"  # a sibling, not below
    _two_classes(mine)
    _two_classes(other)
    _info(other, 4)
    _info(mine, 4)
    said = _info(mine, 8)  # a second size: a second entry of this folder
    assert "cache: this folder's 2 entries take " in said
    assert "in all, " in said and "holds 3 entries" in said
