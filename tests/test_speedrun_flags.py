"""`cnnlab speedrun`: a bad value is named as the user typed it, by the flag (`--time-budget
-1`), not by the config field the flag sets (`max_time`, "or None")."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnnlab.data
from cnnlab.cli import app


def _refusal(args: list[str], monkeypatch) -> str:
    def no_data(*a, **k):
        raise AssertionError("the data was loaded before the options were checked")

    monkeypatch.setattr(cnnlab.data, "load_dataset", no_data)
    monkeypatch.chdir(Path(__file__).parents[1])
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", *args])
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("args, words, field", [
    (["--time-budget", "-1"], "--time-budget -1: allowed: seconds > 0", "max_time"),
    (["--max-time", "0"], "--time-budget 0: allowed: seconds > 0", "max_time"),
    (["--time-budget", "nan"], "--time-budget nan: allowed: a finite number", "max_time"),
    (["--epochs", "0"], "--epochs 0: allowed: a whole number >= 1", "epochs"),
    (["--batch-size", "0"], "--batch-size 0: allowed: a whole number >= 1", "batch_size"),
    (["--lr", "-0.1"], "--lr -0.1: allowed: a number > 0", "lr"),
    (["--threads", "0"], "--threads 0: allowed: a whole number >= 1, or leave --threads "
                         "out", "threads"),
])
def test_a_bad_value_is_named_by_its_flag(args, words, field, monkeypatch):
    said = _refusal(args, monkeypatch)
    assert words in said and f"for {field}" not in said and "None" not in said, said


def test_a_value_given_with_set_or_in_a_candidate_is_named_as_it_was_typed(monkeypatch):
    # There the user typed the field's name: it stays, with where it was given.
    assert "invalid value for max_time: -1" in _refusal(["--set", "max_time=-1"],
                                                        monkeypatch)
    said = _refusal(["--candidate", "epochs=4", "--candidate", "lr=0 epochs=2"], monkeypatch)
    assert "--candidate 'lr=0 epochs=2': invalid value for lr: 0" in said, said


@pytest.mark.parametrize("args, seeds", [
    (["--set", "seed=-1"], "seeds -1 to -1"),
    (["--set", f"seed={2**64 - 2}", "--runs", "3"], f"seeds {2**64 - 2} to {2**64}"),
    (["--set", f"seed={2**64 - 5}", "--warmup"], f"seeds {2**64 - 5} to {2**64 - 5 + 99_999}"),
    # The confirming runs' own warm-up: their first seed's warm-up seed.
    (["--set", f"seed={2**64 - 100_500}", "--warmup", "--candidate", "epochs=2",
      "--candidate", "epochs=3", "--confirm", "2"],
     f"seeds {2**64 - 100_500} to {2**64 - 100_500 + 1000 + 99_999}"),
])
def test_every_seed_the_study_takes_is_checked_before_the_data_loads(args, seeds,
                                                                     monkeypatch):
    # Only run 1's config was checked, and with seed 0: a bad seed failed mid-study, after
    # the data had loaded, with a traceback.
    said = _refusal(args, monkeypatch)
    assert f"--set seed={args[1].split('=')[1]}: this study's runs take {seeds}" in said, said
