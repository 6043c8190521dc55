"""The zoo's pieces (cnnlab.bench.zoo): which models and sizes it takes, the parameters
counted as the run built its model, the table redrawn where a kill left it older than the
CSV, and the size a failed row shows (none of these trains)."""

from __future__ import annotations

import csv
import json
import os

from cnnlab import get_model
from cnnlab.bench import zoo
from cnnlab.train.config import TrainConfig


def test_the_zoo_takes_the_books_networks_at_the_books_or_their_own_size():
    assert "lenet_d2l" in zoo.default_models() and "alexnet" not in zoo.default_models()
    assert zoo.zoo_input_size("alexnet_d2l") == 224  # the book's resize
    # Models the book does not train keep their own input size, not the least they take.
    assert zoo.zoo_input_size("alexnet") == 224
    assert zoo.zoo_input_size("lenet_modern") == 28


def _write_table(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_counts_are_of_the_model_as_its_run_built_it(tmp_path):
    # lenet_modern's head is sized for its input: at 32x32 and 3 classes it has other
    # parameters than at its own 28x28 and 10 classes.
    (tmp_path / "summary.json").write_text(json.dumps({"classes": ["a", "b", "c"]}),
                                           encoding="utf-8")
    cfg = TrainConfig(model="lenet_modern", data="synthetic")
    params, _ = zoo._complexity("lenet_modern", 1, 32, cfg, tmp_path)
    built = get_model("lenet_modern", num_classes=3, in_channels=1, image_size=32)
    assert params == sum(p.numel() for p in built.parameters())
    assert params != sum(p.numel() for p in get_model("lenet_modern").parameters())


def test_a_table_older_than_its_csv_is_redrawn(tmp_path):
    # A bench killed between storing its row and drawing left the table a model short.
    path = tmp_path / "zoo-book.csv"
    _write_table(path, [{"model": "lenet_d2l", "status": "failed", "error": "boom"}])
    table = tmp_path / "zoo-book.md"
    table.write_text("stale\n", encoding="utf-8")
    stored = path.stat().st_mtime_ns
    os.utime(table, ns=(stored - 10**9, stored - 10**9))
    rows = zoo.refresh_outputs(tmp_path, "book")
    assert rows is not None and "lenet_d2l" in rows
    assert "lenet_d2l" in table.read_text(encoding="utf-8")
    assert zoo.refresh_outputs(tmp_path, "book") is None  # now up to date


def test_a_model_that_fails_at_a_resize_asked_for_shows_that_size(tmp_path, monkeypatch):
    # A trained row takes its size from the run; a failed one keeps the size asked for,
    # not the book's 28 pixels it never tried.
    import cnnlab.train

    def broken(cfg, data=None):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(cnnlab.train, "train", broken)
    [row] = zoo.run_zoo(["lenet_modern"], preset="none", epochs=1, device="cpu",
                        out_dir=tmp_path, data_spec="synthetic", overrides={"resize": 32})
    assert row["status"] == "failed" and "out of memory" in row["error"]
    assert row["input_size"] == "1x32x32"
