"""A command typed in capitals (Caps Lock on) is told the command meant: "TRAIN" was
"No such command 'TRAIN'." alone, as the closest names were matched case by case."""

from typer.testing import CliRunner

from cnnlab.cli import app


def test_a_command_typed_in_capitals_names_the_command_meant():
    result = CliRunner().invoke(app, ["TRAIN"])
    assert result.exit_code == 2
    assert "No such command 'TRAIN'. Did you mean 'train'?" in result.output
    result = CliRunner().invoke(app, ["data", "INFO"])
    assert "Did you mean 'info'?" in result.output
