"""A dataset's name is taken in any case by every command that reads one (train, eval,
design run, bench zoo, data), and stored in cnnlab's spelling: "Fashion-MNIST" was
accepted while "Synthetic" and "Folder:PATH" were refused, and a sweep created with
--data Fashion-MNIST refused to be extended with --data fashion-mnist ("holds a
different sweep")."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.dataset_names import dataset_spelling

TINY = ["--device", "cpu", "--epochs", "1", "--train-subset", "32", "--threads", "1"]


def invoke(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_each_spelling_of_a_dataset_becomes_its_one_name():
    for typed, name in [("Fashion-MNIST", "fashion-mnist"), ("FashionMNIST", "fashion-mnist"),
                        ("fashion_mnist", "fashion-mnist"), ("SYNTHETIC", "synthetic"),
                        ("Folder:~/Photos", "folder:~/Photos")]:  # the path's case kept
        assert dataset_spelling(typed) == name
    assert dataset_spelling("mnist") == "mnist"  # for parse_spec to refuse, listing names


def test_data_takes_a_dataset_in_any_case():
    result = invoke(["data", "info", "Synthetic"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("synthetic:")


def test_train_stores_the_datasets_name_as_cnnlab_spells_it(tmp_path):
    result = invoke(["train", "lenet_modern", "--data", "SYNTHETIC", *TINY, "--eval-subset",
                     "16", "--quiet", "--out-dir", str(tmp_path), "--run-name", "r"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text(encoding="utf-8"))
    assert config["data"] == "synthetic"


def test_a_sweep_extends_whatever_case_its_data_was_named_in(tmp_path):
    sweep = ["design", "run", "--space", "anynetx_a", "--macs", "1e5-1e6", "--out",
             str(tmp_path / "sweep"), *TINY, "--set", "eval_subset=16"]
    assert invoke([*sweep, "--data", "Synthetic", "--n", "1"]).exit_code == 0
    result = invoke([*sweep, "--data", "synthetic", "--n", "2"])
    assert result.exit_code == 0, result.output
    assert "2 done, 0 failed" in result.output


def test_a_config_file_or_the_python_api_names_a_dataset_in_any_case_too():
    # --data Synthetic was taken, a config file's data: Synthetic refused ("unknown
    # dataset"), as was TrainConfig(data="Synthetic") from Python.
    from cnnlab.data import parse_spec

    assert parse_spec("Synthetic") == ("synthetic", None)
    assert parse_spec("Folder:~/Photos") == ("folder", "~/Photos")


def test_a_sweep_stored_before_one_spelling_is_the_same_sweep_as_asked_now():
    # A sweep created with --data Fashion-MNIST before the CLI stored one spelling holds
    # "Fashion-MNIST"; run again with it (now read as fashion-mnist) it was "a different
    # sweep".
    from cnnlab.design.sweep_spec import SweepSpec, sweep_identity

    stored = SweepSpec(space="anynetx_a", data="Fashion-MNIST").to_dict()
    asked = SweepSpec(space="anynetx_a", data="fashion-mnist").to_dict()
    assert sweep_identity(stored) == sweep_identity(asked)


def test_a_folder_named_in_any_case_is_a_folder_to_every_check(tmp_path):
    # parse_spec took "Folder:PATH" from a config file, but run.py and four other places
    # ask startswith("folder:"): the images were decoded at 3x64x64, not as the folder's
    # 1x28x28, and the held-out split was drawn without its seed.
    from cnnlab.design.sweep_spec import SweepSpec
    from cnnlab.train import TrainConfig

    assert TrainConfig(model="lenet_modern", data="Folder:/data/Photos").data == (
        "folder:/data/Photos")
    assert TrainConfig(model="lenet_modern", data="Synthetic").data == "synthetic"
    assert SweepSpec(space="anynetx_a", data="FOLDER:/data/Photos").data == (
        "folder:/data/Photos")
