"""Every command's --help, read as a user reads it in a terminal."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cnnlab.cli import app


def _command_paths(command=None, path=()):
    command = command or typer.main.get_command(app)
    yield list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


@pytest.mark.parametrize("width", [60, 80])
def test_no_help_shows_a_type_beside_an_on_off_flag(width):
    # typer 0.2x wrote "<bool>" beside every flag, --help and --version included, in a
    # column of its own: a value the user never types, in room the help text lacked.
    paths = list(_command_paths())
    assert ["bench", "throughput"] in paths and ["design", "run"] in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)},
                                    terminal_width=width)
        assert result.exit_code == 0, (path, result.output)
        assert "--help" in result.output, path
        assert "<bool>" not in result.output, (path, result.output)
    said = CliRunner().invoke(app, ["bench", "throughput", "--help"],
                              env={"COLUMNS": "200"}).output
    assert "--compile" in said and "--no-compile" in said  # the flags are still listed


def test_flags_still_work():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("cnnlab ")
