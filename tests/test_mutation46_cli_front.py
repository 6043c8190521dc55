"""The CLI front's behaviour that hand-made mutants changed unnoticed (session 41,
mutation46, after mutation43's survivors): exit statuses, the width of output to a pipe,
and what a bare `cnnlab` prints."""

from __future__ import annotations

import io

import pytest
import typer
from typer.testing import CliRunner

from cnnlab.cli import app


def test_a_model_option_no_model_takes_is_a_usage_error():
    # A misspelled model option (`--set model_overrides={widthz: ...}` where the config's
    # check could not build the model first) refuses the request as given: exit 2, as an
    # unknown model does, so a script tells a typo from a run that failed.
    from cnnlab.cli.messages import fail_for
    from cnnlab.models._registry import ModelOptionError

    with pytest.raises(typer.Exit) as stop:
        fail_for(ModelOptionError("lenet_modern", "widthz", ["widths", "dropout"]))
    assert stop.value.exit_code == 2


def test_a_table_written_to_a_pipe_is_laid_out_in_160_columns(monkeypatch):
    # Output to a file or a pipe is read by grep and by people in wide windows: a table
    # squeezed into 80 columns wraps its cells over lines that grep then sees in pieces.
    from rich.table import Table

    from cnnlab.cli.messages import output_console, print_table

    monkeypatch.setenv("COLUMNS", "80")
    written = io.StringIO()
    console = output_console(file=written)
    assert console.width == 160
    cell = "tv:convnext_tiny " + "x" * 100  # one cell wider than 80 columns
    table = Table("model", "note")
    table.add_row(cell, "kept whole")
    print_table(console, table)
    assert any(cell in line and "kept whole" in line for line in written.getvalue().splitlines())


def test_cnnlab_without_a_command_prints_its_help_not_an_error():
    # A newcomer types `cnnlab` first: the commands it has, not "Missing command".
    result = CliRunner().invoke(app, [])
    words = " ".join(result.output.split())
    assert "Classic and modern CNNs" in words
    assert "train" in words and "Commands" in words
    assert "Missing command" not in words


def test_each_train_option_says_its_default_once():
    # An option whose own help names its default (--preset, --figures) gets no second
    # "(default: ...)" from TrainConfig's field of the same name.
    import inspect

    from cnnlab.cli.train import train

    helps = {name: p.default.help for name, p in inspect.signature(train).parameters.items()
             if isinstance(p.default, typer.models.OptionInfo)}
    assert "(default: on;" in helps["figures"] and "(default: the defaults" in helps["preset"]
    twice = [name for name, text in helps.items() if (text or "").count("(default") > 1]
    assert twice == []
    assert helps["epochs"].endswith("(default: 10)")  # one TrainConfig gives


def test_a_cnnlab_warning_in_a_command_is_one_line_without_python_s_source(monkeypatch,
                                                                           capsys):
    # Any command first puts cnnlab's warning printer in place: a skipped image file is
    # "warning: ..." for the user, not Python's file name, line number and source line.
    import warnings

    from cnnlab.data import DataWarning

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # put back after
    result = CliRunner().invoke(app, ["models", "lenet*"])
    assert result.exit_code == 0, result.output
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(DataWarning("skipped 1 unreadable image(s)"), stacklevel=1)
    said = capsys.readouterr().err
    assert "warning: skipped 1 unreadable image(s)" in said and "warnings.warn" not in said
