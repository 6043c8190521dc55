"""`cnnlab predict`'s defaults and streams: the table on stdout (unless --quiet with
--out), what was written and which checkpoint on stderr, three classes by default
(mutation testing found these unchecked)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "x.png"
    pixels = np.random.default_rng(1).integers(0, 255, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_the_defaults_are_three_classes_of_the_best_checkpoint(tiny_run, image, tmp_path):
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(tiny_run), str(image), "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["image", "class_1", "probability_1", "class_2", "probability_2",
                      "class_3", "probability_3", "error"]
    assert result.stdout.count("%") == 3  # the table: one image, three classes
    assert "checkpoint best" in result.stderr
    assert f"predictions written to {out}" in " ".join(result.stderr.split())
    assert "written" not in result.stdout


def test_quiet_leaves_the_table_out_only_where_a_file_holds_it(tiny_run, image, tmp_path):
    quiet_with_file = runner.invoke(app, ["predict", str(tiny_run), str(image), "--quiet",
                                          "--out", str(tmp_path / "p.csv")])
    assert quiet_with_file.exit_code == 0 and "%" not in quiet_with_file.stdout
    quiet_alone = runner.invoke(app, ["predict", str(tiny_run), str(image), "--quiet"])
    assert quiet_alone.exit_code == 0 and quiet_alone.stdout.count("%") == 3


def test_a_top_k_past_the_classes_gets_a_column_per_class_not_more(tiny_run, image, tmp_path):
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(tiny_run), str(image), "--top-k", "12",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[-3:] == ["class_10", "probability_10", "error"]
    assert "12th" not in result.stdout and "10th" in result.stdout
