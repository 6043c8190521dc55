"""`cnnlab data`'s option checks at their edges (mutation testing found them unchecked):
--val-fraction 0 and 1 are refused like 1.5, --image-size 1 is let through, and a
grid's suffix is one whatever its case."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()


@pytest.mark.parametrize("value", ["0", "1", "-0.1"])
def test_a_val_fraction_that_holds_out_nothing_or_everything_is_refused(value):
    result = runner.invoke(app, ["data", "info", "synthetic", "--val-fraction", value])
    assert result.exit_code == 2, result.output
    assert f"--val-fraction {value}: a share of each class" in result.stderr


def test_an_upper_case_grid_suffix_is_written(tmp_path):
    out = tmp_path / "GRID.PNG"
    result = runner.invoke(app, ["data", "show", "synthetic", "--n", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_grid_inside_the_image_folder_shown_is_refused(tmp_path):
    from PIL import Image

    root = tmp_path / "photos"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), 40 * i).save(root / label / f"{i}.png")
    for out in (root / "cat" / "0.png", root / "grid.png"):  # over a photo, or beside them
        result = runner.invoke(app, ["data", "show", f"folder:{root}", "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "the image folder shown" in " ".join(result.stderr.split())
    assert (root / "cat" / "0.png").stat().st_size > 0 and not (root / "grid.png").exists()
