"""A zoo folder refused as another setup says how to add to it: "run it as it was" read
as the same command, which a folder of data given from Python (or one cnnlab bench zoo
wrote between f67a0af and 1a2f14d, recording its data as given) cannot be."""

import pytest

from cnnlab.bench import zoo_setup
from cnnlab.bench.zoo_setup import GIVEN_DATA, ZooSetupError, check_setup


def _refusal(stored_data: str, asked_data: str, tmp_path) -> str:
    row = {"model": "lenet_d2l", "status": "done", "setup":
           f'{{"data": "{stored_data}", "epochs": 1, "batch_size": 256}}'}
    asked = {"data": asked_data, "epochs": 1, "batch_size": 256}
    with pytest.raises(ZooSetupError) as caught:
        check_setup({"lenet_d2l": row}, lambda model: asked, tmp_path / "zoo-fast.csv")
    return str(caught.value)


def test_rows_of_given_data_name_the_python_call_that_adds_to_them(tmp_path):
    said = _refusal(f"{GIVEN_DATA}fashion-mnist", "fashion-mnist", tmp_path)
    assert "run_zoo(models, data=..., ...) from cnnlab.bench.zoo (all of fashion-mnist: " \
           "data=cnnlab.load_dataset('fashion-mnist'))" in said, said
    assert "run it as it was" not in said


def test_rows_of_other_settings_say_to_ask_for_them(tmp_path):
    said = _refusal("synthetic", "fashion-mnist", tmp_path)
    assert "give another --out (or ask for the settings it holds)" in said, said
    assert "run_zoo" not in said


def test_an_interrupted_run_of_given_data_names_the_call_too(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo_setup, "zoo_setup", lambda *a, **k: {
        "data": f"{GIVEN_DATA}synthetic", "epochs": 1, "batch_size": 256})
    monkeypatch.setattr(zoo_setup.TrainConfig, "load", lambda path: None)
    with pytest.raises(ZooSetupError) as caught:
        zoo_setup.check_run_plan(tmp_path, {"data": "synthetic", "epochs": 1,
                                            "batch_size": 256})
    assert "data=cnnlab.load_dataset('synthetic')" in str(caught.value), caught.value
