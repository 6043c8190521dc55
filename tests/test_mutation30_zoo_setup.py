"""A zoo folder's setup check (cnnlab.bench.zoo_setup) on hand-made rows and configs: what
counts as another setup, what a failed row is spared, the way on it names, and the data
an old row's run is re-read for once its config changes."""

from __future__ import annotations

import pytest

from cnnlab.bench.zoo_setup import GIVEN_DATA, ZooSetupError, check_setup, run_data, zoo_setup
from cnnlab.train.config import TrainConfig


def _done(setup: str) -> dict:
    return {"model": "lenet_d2l", "status": "done", "setup": setup}


def test_the_epochs_and_batch_size_are_always_part_of_a_setup():
    cfg = TrainConfig(model="lenet_d2l", data="synthetic", epochs=3, batch_size=64)
    assert zoo_setup(cfg, None) == {"data": "synthetic", "epochs": 3, "batch_size": 64}


@pytest.mark.parametrize("other", [{"epochs": 2}, {"batch_size": 128}])
def test_a_row_of_other_epochs_or_batch_size_is_refused(tmp_path, other):
    asked = {"data": "synthetic", "epochs": 1, "batch_size": 256}
    stored = {**asked, **other}
    setup = ", ".join(f'"{k}": {v!r}' if isinstance(v, int) else f'"{k}": "{v}"'
                      for k, v in stored.items())
    with pytest.raises(ZooSetupError, match=next(iter(other))):
        check_setup({"lenet_d2l": _done("{" + setup + "}")}, lambda model: asked,
                    tmp_path / "zoo-book.csv")


def test_a_failed_row_is_never_checked_its_model_trains_again(tmp_path):
    # A failed row keeps no setup and has no run to say one: refusing it would leave the
    # user no way to retry that model into the folder.
    failed = {"model": "lenet_d2l", "status": "failed", "setup": "", "error": "boom"}
    check_setup({"lenet_d2l": failed}, lambda model: {"data": "synthetic", "epochs": 1,
                                                      "batch_size": 256},
                tmp_path / "zoo-book.csv")


def test_given_data_asked_as_given_again_is_told_to_ask_for_the_settings(tmp_path):
    # The data already matches: it is another setting that differs, so the Python call
    # that gives the data is no way on.
    given = f"{GIVEN_DATA}synthetic"
    asked = {"data": given, "epochs": 1, "batch_size": 256}
    stored = f'{{"data": "{given}", "epochs": 2, "batch_size": 256}}'
    with pytest.raises(ZooSetupError) as caught:
        check_setup({"lenet_d2l": _done(stored)}, lambda model: asked,
                    tmp_path / "zoo-book.csv")
    assert "or ask for the settings it holds" in str(caught.value)
    assert "run_zoo(models" not in str(caught.value)


def test_an_old_rows_data_is_read_again_when_its_runs_config_changes(tmp_path):
    csv_path = tmp_path / "zoo-book.csv"
    run = tmp_path / "zoo-book-runs" / "lenet_d2l"
    run.mkdir(parents=True)
    TrainConfig(model="lenet_d2l", data="synthetic").save(run / "config.yaml")
    assert run_data(csv_path, "lenet_d2l") == "synthetic"
    TrainConfig(model="lenet_d2l", data="fashion-mnist").save(run / "config.yaml")
    assert run_data(csv_path, "lenet_d2l") == "fashion-mnist"
