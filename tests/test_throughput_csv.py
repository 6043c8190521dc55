"""`cnnlab bench throughput --out x.csv`: each row says the machine it was measured on
(what a JSON file says once, in its environment), so CSV files from two machines can be
put side by side, or concatenated, and still be told apart."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from cnnlab.bench import results
from cnnlab.bench.zoo import machine_name
from cnnlab.cli import app

ARGS = ["bench", "throughput", "--models", "lenet_d2l", "--batch-size", "4", "--steps", "1",
        "--device", "cpu", "--no-infer", "--threads", "1", "--out"]


def test_every_csv_row_names_its_machine_threads_and_versions(tmp_path):
    import torch

    import cnnlab

    result = CliRunner().invoke(app, [*ARGS, str(tmp_path / "tp.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "tp.csv", encoding="utf-8", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["machine"] == machine_name("cpu") and row["machine"].endswith(" CPUs")
    assert row["torch_threads"] == "1"  # the bench's own, not the process's count after it
    assert row["torch"] == torch.__version__ and row["cnnlab"] == cnnlab.__version__
    assert row["date"][:4].isdigit() and row["device"] == "cpu"
    # The JSON says the same once, in its environment (unchanged: no columns added).
    result = CliRunner().invoke(app, [*ARGS, str(tmp_path / "tp.json")])
    written = json.loads((tmp_path / "tp.json").read_text(encoding="utf-8"))
    assert "machine" not in written["rows"][0] and written["environment"]["torch_threads"] == 1


def test_the_machine_columns_follow_the_rows_own(tmp_path):
    out = tmp_path / "r.csv"
    results.write_rows(out, [{"model": "m", "note": ""}], "cpu", threads=2)
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:2] == ["model", "note"] and header[2:] == list(results.MACHINE_COLUMNS)


def test_the_table_says_the_threads_as_the_file_does(tmp_path):
    # The CSV and JSON recorded the torch threads; the printed table (what a user pastes)
    # did not, where bench memory's and bench ops' titles did.
    result = CliRunner().invoke(app, [*ARGS, str(tmp_path / "tp.csv")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    title = next(line for line in result.output.splitlines() if "throughput on cpu" in line)
    assert ", 1 thread," in title, title
