"""Zoo folders an older cnnlab wrote, read by today's: a model `cnnlab bench zoo` left
interrupted between c0e697b and 1a2f14d (its run holds a data.json of the data the
command loaded), and a table from before the setup column (2026-11), trained on
synthetic data, which the book's numbers must not be set beside."""

import json

import pytest

from cnnlab.bench.zoo_report import book_comparable, markdown_table
from cnnlab.bench.zoo_setup import ZooSetupError, check_run_plan
from cnnlab.data import load_dataset
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train.config import TrainConfig
from cnnlab.train.run_data import data_record

ASKED = {"data": "synthetic", "epochs": 2, "batch_size": 256}


def _interrupted_run(tmp_path, data) -> object:
    run = tmp_path / "zoo-fast-runs" / "lenet_d2l"
    run.mkdir(parents=True)
    TrainConfig(model="lenet_d2l", data="synthetic", epochs=2, batch_size=256,
                preset="fast").save(run / "config.yaml")
    (run / "data.json").write_text(json.dumps(data_record(data)), encoding="utf-8")
    return run


def test_a_model_the_old_command_left_interrupted_resumes(tmp_path):
    # c74a69f's `bench zoo --data synthetic` handed load_dataset("synthetic") to the run;
    # it was refused as "data 'data given to run_zoo: synthetic' vs 'synthetic' asked"
    check_run_plan(_interrupted_run(tmp_path, load_dataset("synthetic")), ASKED)


def test_other_data_given_from_python_stays_its_own_setup(tmp_path):
    run = _interrupted_run(tmp_path, make_synthetic(num_train=64, num_test=32))
    with pytest.raises(ZooSetupError, match="data given to run_zoo: synthetic"):
        check_run_plan(run, ASKED)


# A row of f9f3ba5 (2026-11-26), as it wrote it: no setup, book_epochs or torch_threads.
_OLD_ROW = {"model": "lenet_d2l", "family": "lenet", "preset": "fast", "status": "done",
            "test_acc": "0.1015625", "best_test_acc": "0.1015625", "book_acc": "0.728",
            "params": "61706", "macs": "416520", "input_size": "28",
            "images_per_s": "1892.1", "peak_memory_mb": "761.3", "wall_time_s": "0.27",
            "epochs": "1", "device": "cpu", "machine": "x86_64 x2 CPU",
            "run_dir": "zoo/zoo-fast-runs/lenet_d2l", "error": ""}


def test_an_old_synthetic_table_shows_no_book_numbers(tmp_path):
    from cnnlab.bench.results import write_csv
    from cnnlab.bench.zoo import read_rows

    run = tmp_path / "zoo-fast-runs" / "lenet_d2l"
    run.mkdir(parents=True)
    TrainConfig(model="lenet_d2l", data="synthetic", epochs=1).save(run / "config.yaml")
    write_csv(tmp_path / "zoo-fast.csv", [_OLD_ROW])
    rows = read_rows(tmp_path / "zoo-fast.csv")
    assert not book_comparable(rows)
    assert "(-62.64)" not in markdown_table(rows)  # 10.2% minus the book's 72.8%


def test_an_old_table_whose_runs_are_gone_is_read_as_fashion_mnist(tmp_path):
    from cnnlab.bench.results import write_csv
    from cnnlab.bench.zoo import read_rows

    write_csv(tmp_path / "zoo-fast.csv", [_OLD_ROW])  # the zoo's default data
    rows = read_rows(tmp_path / "zoo-fast.csv")
    assert book_comparable(rows)
    assert "(-62.64)" in markdown_table(rows)


def test_an_old_tables_run_configs_are_read_once_for_many_reads(tmp_path, monkeypatch):
    # read_rows runs several times for each model a bench stores, under the table's lock
    from cnnlab.bench import zoo_setup
    from cnnlab.bench.results import write_csv
    from cnnlab.bench.zoo import read_rows

    run = tmp_path / "zoo-fast-runs" / "lenet_d2l"
    run.mkdir(parents=True)
    TrainConfig(model="lenet_d2l", data="synthetic", epochs=1).save(run / "config.yaml")
    write_csv(tmp_path / "zoo-fast.csv", [_OLD_ROW])
    loads = []
    real_load = TrainConfig.load
    monkeypatch.setattr(zoo_setup.TrainConfig, "load",
                        lambda path: loads.append(path) or real_load(path))
    for _ in range(3):
        assert read_rows(tmp_path / "zoo-fast.csv")[0]["run_data"] == "synthetic"
    assert len(loads) == 1
    TrainConfig(model="lenet_d2l", data="fashion-mnist", epochs=10).save(run / "config.yaml")
    assert read_rows(tmp_path / "zoo-fast.csv")[0]["run_data"] == "fashion-mnist"  # changed
