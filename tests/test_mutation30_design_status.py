"""`cnnlab design status` on a store filled by hand (nothing trains): the best trial so
far is the one of lowest error, and one epoch is said in the singular."""

from __future__ import annotations

from design_helpers import shaped_spec
from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design.store import TrialStore


def _status(tmp_path, **spec) -> str:
    with TrialStore(tmp_path, create=True) as store:
        store.init_sweep(shaped_spec(**spec), 3)
        store.record(0, "done", error_pct=40.0, test_acc=0.6, train_time_s=1.0)
        store.record(1, "done", error_pct=20.0, test_acc=0.8, train_time_s=1.0)
    result = CliRunner().invoke(app, ["status", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_best_so_far_is_the_trial_of_lowest_error(tmp_path):
    said = _status(tmp_path)
    assert "best so far: trial 1, error 20.0" in said, said


def test_one_epoch_is_said_in_the_singular(tmp_path):
    assert "1 epoch, data synthetic" in _status(tmp_path, train={"epochs": 1})

