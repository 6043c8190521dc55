"""The zoo table's columns say what they hold: ``train_time_s`` is the training time
(evaluation excluded), as a run's summary names it; the column was ``wall_time_s``, and a
table written then is still read, resumed and rewritten under the new name."""

from __future__ import annotations

from cnnlab.bench import zoo
from cnnlab.train import run as run_module


def _zoo(tmp_path, models):
    return zoo.run_zoo(models, preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                       data_spec="synthetic", overrides={"eval_subset": 64})


def test_the_training_time_is_stored_as_train_time_s(tmp_path):
    [row] = _zoo(tmp_path, ["lenet_d2l"])
    header = (tmp_path / "zoo-book.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "train_time_s" in header.split(",") and "wall_time_s" not in header
    [stored] = zoo.read_rows(tmp_path / "zoo-book.csv")
    assert float(stored["train_time_s"]) == float(row["train_time_s"]) > 0


def test_a_table_written_with_wall_time_s_resumes_and_keeps_its_times(tmp_path,
                                                                      monkeypatch):
    _zoo(tmp_path, ["lenet_d2l"])
    table = tmp_path / "zoo-book.csv"
    old = table.read_text(encoding="utf-8").replace("train_time_s", "wall_time_s")
    table.write_text(old, encoding="utf-8")  # as the earlier version wrote it
    seconds = zoo.read_rows(table)[0]["train_time_s"]
    trained, real_train = [], run_module.train
    monkeypatch.setattr("cnnlab.train.train", lambda cfg, data=None, **kw: (
        trained.append(cfg.model), real_train(cfg, data=data, **kw))[1])
    rows = _zoo(tmp_path, ["lenet_d2l", "lenet_bn_d2l"])
    assert trained == ["lenet_bn_d2l"]  # the stored model was not trained again
    assert rows[0]["train_time_s"] == seconds
    stored = zoo.read_rows(table)
    assert [r["train_time_s"] for r in stored][0] == seconds and stored[1]["train_time_s"]
    assert "wall_time_s" not in table.read_text(encoding="utf-8")
    assert f"{float(seconds):.3g} s" in (tmp_path / "zoo-book.md").read_text(encoding="utf-8")


def test_each_row_records_the_torch_threads_it_trained_with(tmp_path):
    # images_per_s and train_time_s depend on them; the row named only the machine.
    [row] = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                        out_dir=tmp_path, data_spec="synthetic",
                        overrides={"eval_subset": 64}, threads=1)
    [stored] = zoo.read_rows(tmp_path / "zoo-book.csv")
    assert row["torch_threads"] == 1 and stored["torch_threads"] == "1"


def test_a_table_written_before_the_threads_column_resumes_with_its_rows(tmp_path):
    _zoo(tmp_path, ["lenet_d2l"])
    table = tmp_path / "zoo-book.csv"
    header, *lines = table.read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    if "torch_threads" in columns:  # as the earlier version wrote it: without the column
        at = columns.index("torch_threads")
        import csv

        rows = [r[:at] + r[at + 1:] for r in csv.reader([header, *lines])]
        with open(table, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    before = zoo.read_rows(table)[0]
    rows = _zoo(tmp_path, ["lenet_d2l", "lenet_bn_d2l"])
    assert rows[0]["test_acc"] == before["test_acc"] and rows[0].get("torch_threads", "") == ""
    assert int(rows[1]["torch_threads"]) >= 1
    stored = zoo.read_rows(table)
    assert [r["torch_threads"] for r in stored][0] == "" and int(stored[1]["torch_threads"])
