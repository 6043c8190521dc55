"""`cnnlab predict` on a folder of many images: batched, in order, one bad file skipped
and named; file names not in UTF-8; a URL or "-" given for a file."""

import csv
import os
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data.image_file import read_image
from cnnlab.train import predict as predict_module
from cnnlab.train.predict import open_for_prediction, predict_image

runner = CliRunner()


def _counting_forwards(monkeypatch, calls: list[int]) -> None:
    """The command's model, counting the images each forward pass is given."""
    opened = predict_module.open_for_prediction

    def counted(*args, **kwargs):
        run = opened(*args, **kwargs)
        model = run.model
        run.model = lambda x: calls.append(len(x)) or model(x)
        return run

    monkeypatch.setattr(predict_module, "open_for_prediction", counted)


def test_a_folder_goes_through_the_model_in_batches_in_order_past_a_bad_file(
        tiny_run, tmp_path, monkeypatch):
    # One forward per image made 20,000 28x28 files take 400 s (40 s in batches).
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(70):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(
            photos / f"{i:03d}.png")
    (photos / "035.png").write_bytes(b"not a png")  # in the middle of the first batch
    calls: list[int] = []
    _counting_forwards(monkeypatch, calls)
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(tiny_run), str(photos), "--no-tta",
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "1 of 70 images could not be read" in " ".join(result.output.split())
    assert len(calls) <= 2 and sum(calls) == 69, calls
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["image"] for r in rows] == [str(photos / f"{i:03d}.png") for i in range(70)]
    assert "035.png: not a readable image" in rows[35]["error"] and not rows[35]["class_1"]
    monkeypatch.undo()
    run = open_for_prediction(tiny_run)
    for row in (rows[0], rows[34], rows[36], rows[69]):  # as each alone, up to rounding
        alone = predict_image(run, row["image"], top_k=3, tta=False)
        assert [r for r, _ in alone] == [row[f"class_{k}"] for k in (1, 2, 3)]
        assert [p for _, p in alone] == pytest.approx(
            [float(row[f"probability_{k}"]) for k in (1, 2, 3)], abs=2e-6)


@pytest.mark.skipif(sys.platform != "linux", reason="names in any bytes: Linux file systems")
def test_a_file_name_not_in_utf8_is_written_to_the_csv_escaped(tiny_run, tmp_path):
    # The CSV of a whole folder was lost to a UnicodeEncodeError after classifying it.
    photos = tmp_path / "photos"
    photos.mkdir()
    with open(os.path.join(os.fsencode(photos), b"d\xf6g.png"), "wb") as file:
        Image.new("L", (28, 28), 200).save(file, format="PNG")
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(tiny_run), str(photos), "--out", str(out)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["image"] == str(photos / "d\\xf6g.png") and row["class_1"]
    assert "d\\xf6g.png" in result.stdout


@pytest.mark.parametrize(("given", "said"), [
    ("https://example.com/shirt.jpg", "not URLs: download it first"),
    ("-", "not standard input: save the image to a file")])
def test_a_url_or_standard_input_is_said_to_be_no_file(given, said):
    with pytest.raises(FileNotFoundError, match=f"image not found: .*; cnnlab reads image "
                                                f"files, {said}"):
        read_image(given, 1)


def test_a_missing_file_or_windows_path_gets_no_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"image not found: [^;]*$"):
        read_image("C:/photos/missing.png", 1)
