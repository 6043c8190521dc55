"""The examples at the foot of each command's --help are commands that command takes."""

from __future__ import annotations

import shlex

import typer
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.examples import EXAMPLES


def _command(path: str):
    command = typer.main.get_command(app)
    for name in path.split():
        command = command.commands[name]
    return command


def test_every_example_names_its_command_and_flags_it_takes():
    for path, examples in EXAMPLES.items():
        command = _command(path)  # a KeyError: examples kept for a command gone
        accepted = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for example, _ in examples:
            words = shlex.split(example)
            assert words[:1 + len(path.split())] == ["cnnlab", *path.split()], example
            flags = {w.split("=")[0] for w in words if w.startswith("--")}
            assert flags <= accepted, (example, flags - accepted)


def test_a_commands_help_ends_with_its_examples():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    tail = result.output[result.output.index("Examples:"):]
    assert "cnnlab train lenet_bn_d2l --preset book" in tail
