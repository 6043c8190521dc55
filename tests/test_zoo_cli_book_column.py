"""`cnnlab bench zoo` on Fashion-MNIST shows the book's accuracy beside each model's.

The command loaded the data once and handed it to run_zoo as data "given from Python",
so every row's setup read "data given to run_zoo: fashion-mnist": the table's book
column was "-" with a note that the book's numbers are "not on" that data, and each
run got a data.json as if trained on a subset.
"""
from __future__ import annotations

import json

from typer.testing import CliRunner

from cnnlab.bench import zoo
from cnnlab.cli import app
from cnnlab.data import fashion_mnist as fm


def test_cli_zoo_on_fashion_mnist_shows_the_books_accuracy(tiny_fashion, tmp_path,
                                                           monkeypatch):
    data = tiny_fashion(tmp_path / "fm", n_train=20, n_test=10)
    monkeypatch.setenv(fm.ENV_VAR, str(data.directory))
    out = tmp_path / "zoo"
    result = CliRunner().invoke(app, ["bench", "zoo", "--preset", "book", "--models",
                                      "lenet_d2l", "--epochs", "1", "--device", "cpu",
                                      "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    row, = zoo.read_rows(out / "zoo-book.csv")
    assert json.loads(row["setup"])["data"] == "fashion-mnist"
    assert "72.8% (10 ep)" in (out / "zoo-book.md").read_text(encoding="utf-8")
    assert "not on" not in result.output
    assert not (out / "zoo-book-runs" / "lenet_d2l" / "data.json").exists()
