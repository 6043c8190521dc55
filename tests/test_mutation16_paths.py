"""The command-line checks on paths and option text (cnnlab/cli/paths.py) and the help's
defaults: cases mutation testing found unchecked."""

from __future__ import annotations

import inspect

import pytest
import typer
from compare_helpers import FINISHED, make_run, three_epochs
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.train import train

runner = CliRunner()


@pytest.mark.parametrize("blank", ["", " ", "\t"])
@pytest.mark.parametrize("command", ["eval", "resume"])
def test_a_blank_data_root_is_refused_naming_the_option(tmp_path, command, blank):
    result = runner.invoke(app, [command, str(tmp_path / "run"), "--data-root", blank])
    assert result.exit_code == 2, result.output
    assert f"--data-root {blank!r}: give a folder" in result.stderr
    assert result.stdout == ""  # errors go to stderr: a script reading stdout gets none


def test_an_upper_case_suffix_is_the_same_kind_of_file(tmp_path, monkeypatch):
    monkeypatch.setattr("cnnlab.figures.save_figure", lambda *args, **kwargs: None)
    for name in ("a", "b"):
        make_run(tmp_path / "runs", name, three_epochs(0.5, 0.6, 0.7), FINISHED, lr=0.1)
    out = tmp_path / "TABLE.CSV"
    result = runner.invoke(app, ["compare", str(tmp_path / "runs"), "--csv", str(out),
                                 "--plot", str(tmp_path / "FIG.PNG")])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("run,")


def test_each_train_option_says_its_default_once():
    # An option whose own help gives its default gets no second "(default: ...)".
    for name, parameter in inspect.signature(train).parameters.items():
        option = parameter.default
        if isinstance(option, typer.models.OptionInfo):
            assert (option.help or "").count("(default") <= 1, (name, option.help)


def test_the_dataset_callback_gives_cnnlabs_spelling():
    # What the commands pass on is one name however typed: `bench zoo` compares the
    # rows' data with "fashion-mnist" (zoo_report), without spelling it again.
    from cnnlab.cli.paths import dataset_name

    check = dataset_name()
    assert [check(None, v) for v in ("Fashion-MNIST", "SYNTHETIC", "Folder:/x/Y")] == [
        "fashion-mnist", "synthetic", "folder:/x/Y"]
    assert check(None, None) is None


def test_a_file_where_a_folder_would_be_is_named_as_such(tmp_path):
    from cnnlab.cli.paths import check_output_file
    from cnnlab.train import ConfigError

    notes = tmp_path / "notes.txt"
    notes.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notes\.txt is a file, not a folder"):
        check_output_file(notes / "sub" / "rows.csv", "--out")
