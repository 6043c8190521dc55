"""`cnnlab train` refuses an --out-dir that is a run's folder or inside one (e0278b6);
review-diff44 found it refusing what is no run: another project's folder holding a
config.yaml and checkpoints/ (with the default out_dir, `cnnlab train` run there), and
`--out-dir ..` from inside a run's folder, whose message named "." as the folder to give."""

from __future__ import annotations

import pytest

from cnnlab.cli.train_notes import refuse_a_run_folder_as_out_dir
from cnnlab.train import ConfigError, TrainConfig


def a_run(folder):
    folder.mkdir(parents=True)
    TrainConfig(model="lenet_modern", data="synthetic", run_name=folder.name).save(
        folder / "config.yaml")
    (folder / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    return folder


def test_another_projects_folder_with_a_config_and_checkpoints_is_no_run(tmp_path,
                                                                          monkeypatch):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "config.yaml").write_text("lr: 0.1\nmodel: {depth: 18}\n", encoding="utf-8")
    refuse_a_run_folder_as_out_dir(TrainConfig(out_dir=str(tmp_path / "runs")))
    monkeypatch.chdir(tmp_path)
    refuse_a_run_folder_as_out_dir(TrainConfig())  # the default out_dir, runs


def test_from_inside_a_run_the_folder_above_is_taken_and_the_one_to_give_named(tmp_path,
                                                                               monkeypatch):
    run = a_run(tmp_path / "runs" / "done")
    monkeypatch.chdir(run)
    refuse_a_run_folder_as_out_dir(TrainConfig(out_dir=".."))
    with pytest.raises(ConfigError) as caught:
        refuse_a_run_folder_as_out_dir(TrainConfig(out_dir="."))
    assert str(caught.value) == (
        f"--out-dir . ({run}) is a run's folder, and --out-dir is the folder the run "
        f"folders go in: give {tmp_path / 'runs'} (and --run-name NAME to name the run), "
        "or another folder")
