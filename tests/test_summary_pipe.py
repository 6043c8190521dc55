"""`cnnlab summary` into a pipe or a file: no line padded with spaces, each line whole;
in a terminal the totals wrap at its width."""

from __future__ import annotations

import io

import torch
from rich.console import Console
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.inspect import summary
from cnnlab.models import get_model


def test_piped_lines_carry_no_trailing_padding():
    # rich padded every totals line to the Flow line's length: 266 characters each.
    result = CliRunner().invoke(app, ["summary", "lenet_d2l"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    assert max(len(line) for line in lines if line.startswith("Parameters")) < 60
    source = [line for line in lines if line.startswith("Source")]
    assert len(source) == 1 and source[0].endswith("7.6 builds it")  # whole, for grep


def test_in_a_terminal_the_totals_wrap_at_its_width():
    with torch.device("meta"):  # shapes and counts only: fast
        model = get_model("vgg11", num_classes=10, in_channels=1)
    result = summary(model, (1, 224, 224))
    buf = io.StringIO()
    Console(file=buf, width=80, force_terminal=True, color_system=None).print(
        result.totals_table())
    lines = buf.getvalue().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert any(line.startswith("Resolution flow ") for line in lines), lines
