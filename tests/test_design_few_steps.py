"""`cnnlab design run` says when its trials take too few optimizer steps to learn (before
training), and when every finished trial ended at chance (after): a lesson's sweep of 8
steps a trial ended with all four networks at 89.6-91.2% error, and not a word."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli.design import app
from cnnlab.design.describe import at_chance_note, few_steps_note, steps_per_trial


def fashion(train_subset=None, **train) -> dict:
    return {"space": "anynetx_a", "data": "fashion-mnist", "train_subset": train_subset,
            "train": train}


def test_steps_per_trial_are_epochs_times_batches():
    # The lesson's: 1,000 images in batches of 128 (8, the last one short), one epoch.
    assert steps_per_trial(fashion(1000, batch_size=128, epochs=1)) == 8
    assert steps_per_trial(fashion(4000, batch_size=32, epochs=1)) == 125
    assert steps_per_trial(fashion()) == 10 * 469  # 60,000 images, the paper's recipe
    assert steps_per_trial({"data": "folder:/x", "train": {}}) is None  # size unknown


def test_too_few_steps_are_named_with_the_flags_that_give_more():
    words = few_steps_note(fashion(1000, batch_size=128, epochs=1))
    assert "only 8 optimizer steps" in words
    assert "--train-subset" in words and "--epochs" in words and "--batch-size" in words
    assert few_steps_note(fashion(4000, batch_size=32, epochs=1)) is None
    assert few_steps_note({"data": "folder:/x", "train": {}}) is None


def test_a_sweep_all_at_chance_is_said_to_have_learned_nothing():
    # The lesson's errors: 89.6, 90.6, 90.6, 91.2 with 10 classes (chance 90%).
    words = at_chance_note([89.6, 90.6, 90.6, 91.2], 10)
    assert "every finished trial is at chance (90% error for 10 classes)" in words
    assert "--train-subset" in words
    assert at_chance_note([85.0, 90.6], 10) is None  # one network learned something
    assert at_chance_note([], 10) is None


def test_design_run_notes_too_few_steps_before_training(tmp_path):
    result = CliRunner().invoke(app, [
        "run", "--space", "anynetx_a", "--n", "1", "--epochs", "1", "--macs", "0.1M-1M",
        "--data", "synthetic", "--train-subset", "64", "--batch-size", "32",
        "--set", "eval_subset=64", "--device", "cpu", "--threads", "1",
        "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "note: each trial takes only 2 optimizer steps" in words
    # Said before the trial trained: above its result line in the combined output.
    assert result.output.index("only 2 optimizer steps") < result.output.index("trial 0:")
