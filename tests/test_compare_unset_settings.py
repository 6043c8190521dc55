"""A setting left unset reads as what it then does where "none" would read as none at
all: `cnnlab compare` of a folder run read in the model's channels beside one given
--channels 3 showed "channels none" (a practitioner took it for no channels)."""

from __future__ import annotations

from compare_helpers import FINISHED, make_run, three_epochs
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.formatting import rich_as_text
from cnnlab.train import compare_runs
from cnnlab.train.report import setting_words


def test_unset_channels_and_subset_read_as_what_they_do(tmp_path):
    folder = f"folder:{tmp_path / 'photos'}"  # channels decodes a folder's images
    make_run(tmp_path, "grey", three_epochs(0.5, 0.8, 0.7), FINISHED, data=folder)
    make_run(tmp_path, "rgb", three_epochs(0.6, 0.6, 0.9), FINISHED, data=folder, channels=3,
             train_subset=64)
    comparison = compare_runs(tmp_path / "grey", tmp_path / "rgb")
    assert comparison.labels() == ["channels=the model's, train_subset=all",
                                   "channels=3, train_subset=64"]
    text = " ".join(rich_as_text(*comparison.to_tables(200), width=200).replace("│", " ").split())
    assert "channels the model's 3" in text and "train_subset all 64" in text
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "grey"), str(tmp_path / "rgb")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "the model's" in result.output and "channels none" not in result.output


def test_other_unset_settings_still_read_none():
    assert setting_words(None, "max_time") == setting_words(None) == "none"
    assert setting_words(None, "eval_subset") == "all" and setting_words(3, "channels") == "3"
