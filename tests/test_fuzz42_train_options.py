"""Option values `cnnlab train` accepts but could not carry out as typed, said before the
run starts (session 42's pass over the train options): a batch larger than the
--train-subset trained on batches of the subset's size, and a --lookahead-steps beyond
the run's optimizer steps never synced, each without a word."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.train_notes import settings_without_effect
from cnnlab.train import TrainConfig

TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--epochs", "1", "--train-subset", "64", "--eval-subset", "16", "--no-figures"]


def notes(given: set[str], **fields) -> str:
    cfg = TrainConfig(model="lenet_modern", data="synthetic", **fields)
    return " ".join(settings_without_effect(cfg, given))


def test_a_batch_larger_than_the_training_subset_is_said_before_the_run(tmp_path):
    result = CliRunner().invoke(app, [*TRAIN, "--batch-size", "1000", "--out-dir",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert ("warning: batch_size 1,000 is more than the 64 training images of train_subset, "
            "so each epoch is one batch of at most 64: give --batch-size 64 or less, or a "
            "larger --train-subset") in words
    assert words.index("batch_size 1,000") < words.index("epoch 1/1")


def test_a_batch_the_subset_fills_or_one_not_typed_draws_nothing():
    assert notes({"batch_size"}, batch_size=64, train_subset=64) == ""
    assert notes({"batch_size"}, batch_size=65, train_subset=64) != ""
    assert notes(set(), batch_size=1000, train_subset=64) == ""  # a preset's, not typed
    assert notes({"batch_size"}, batch_size=1000) == ""  # the data's size is not known yet


def test_a_lookahead_period_beyond_the_runs_steps_is_said():
    # 64 images in batches of 16: 4 batches, 2 optimizer steps an epoch at accum_steps 2
    fields = dict(train_subset=64, batch_size=16, accum_steps=2, epochs=3)
    said = notes({"lookahead_steps"}, lookahead_steps=7, **fields)
    assert said == ("lookahead_steps 7 is more than the run's 6 optimizer steps at most "
                    "(train_subset 64, batch_size 16, 3 epochs), so the slow weights never "
                    "move: give --lookahead-steps 6 or less")
    assert notes({"lookahead_steps"}, lookahead_steps=6, **fields) == ""
    assert notes({"lookahead_steps"}, lookahead_steps=7, **{**fields, "train_subset": None}) == ""
    assert "1 epoch)" in notes({"lookahead_steps"}, lookahead_steps=10**12, train_subset=64,
                                  epochs=1)


def test_a_run_folder_given_as_out_dir_is_refused_before_anything_is_written(tmp_path):
    runner = CliRunner()
    runs = tmp_path / "runs"
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(runs), "--run-name", "done"])
    assert result.exit_code == 0, result.output
    before = sorted(p.name for p in (runs / "done").rglob("*"))
    for out_dir, where in ((runs / "done", "is a run's folder,"),
                           (runs / "done" / "checkpoints",
                            f"is inside the run folder {runs / 'done'},")):
        result = runner.invoke(app, [*TRAIN, "--out-dir", str(out_dir)])
        assert result.exit_code == 2, result.output
        assert (f"error: --out-dir {out_dir} {where} and --out-dir is the folder the run "
                f"folders go in: give {runs} (and --run-name NAME to name the run), or "
                "another folder") in " ".join(result.stderr.split())
        assert "epoch" not in result.stderr
    assert sorted(p.name for p in (runs / "done").rglob("*")) == before
