"""`cnnlab --help` says what export makes: its line named onnxruntime, not the format."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app


def test_exports_line_in_the_programs_help_names_onnx():
    said = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    [line] = [line for line in said.splitlines() if line.lstrip().startswith("export ")]
    assert "to ONNX" in line, line
