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
