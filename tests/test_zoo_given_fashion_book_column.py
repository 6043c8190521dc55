"""run_zoo given Fashion-MNIST from Python shows the book's accuracy beside each model.

Since f67a0af data given to run_zoo is a setup of its own ("data given to run_zoo:
fashion-mnist"), which is right for keeping tables apart; but the table then took it for
other data: the book column read "-" with the note that the book's numbers are "on
Fashion-MNIST, not on data given to run_zoo: fashion-mnist". Before, the column showed.
"""
from __future__ import annotations

import json

import pytest

from cnnlab.bench import zoo
from cnnlab.bench.zoo_report import markdown_table
from cnnlab.data import load_dataset


def _row(data: str) -> dict:
    return {"model": "lenet_d2l", "status": "done", "test_acc": "0.1", "book_acc": "0.728",
            "book_epochs": "10", "params": "61706", "macs": "416520",
            "input_size": "1x28x28", "images_per_s": "3000.0", "peak_memory_mib": "",
            "train_time_s": "1.0", "epochs": "1", "first_in_process": "False",
            "machine": "cpu", "setup": json.dumps({"data": data, "batch_size": 128,
                                                   "epochs": 1})}


@pytest.mark.parametrize("data, book", [
    ("data given to run_zoo: fashion-mnist", "72.8% (10 ep)"),  # was "-"
    ("fashion-mnist", "72.8% (10 ep)"),
    ("data given to run_zoo: synthetic", "-"),
    ("synthetic", "-"),
])
def test_the_book_column_follows_the_dataset_given_or_named(data, book):
    table = markdown_table([_row(data)])
    assert table.splitlines()[2].split(" | ")[2] == book
    assert "not on data given to run_zoo: fashion-mnist" not in table


def test_run_zoo_given_fashion_mnist_shows_the_books_accuracy(tiny_fashion, tmp_path):
    data = load_dataset("fashion-mnist", root=tiny_fashion(tmp_path / "fm", n_train=20,
                                                           n_test=10).directory)
    out = tmp_path / "zoo"
    zoo.run_zoo(["lenet_d2l"], epochs=1, device="cpu", out_dir=out, data=data, threads=1)
    row, = zoo.read_rows(out / "zoo-book.csv")
    assert json.loads(row["setup"])["data"] == "data given to run_zoo: fashion-mnist"
    assert "72.8% (10 ep)" in (out / "zoo-book.md").read_text(encoding="utf-8")
