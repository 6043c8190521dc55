"""bench's --help as a newcomer reads it: each option that takes a value says what it is
when not given, and ops's line says all it times."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from cnnlab.cli import app


def _help(*path: str) -> str:
    said = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
    return " ".join(said.split())


def test_bench_data_root_and_batch_size_name_their_default():
    # "--data-root DIR Folder holding Fashion-MNIST." and "Override the preset's batch
    # size." said nothing of where it looks, or what the batch is, without them.
    assert "--data-root DIR Folder holding Fashion-MNIST (default: $CNNLAB_DATA" in \
        _help("bench", "loader")
    zoo = _help("bench", "zoo")
    assert "--data-root DIR Folder holding the dataset files (default: $CNNLAB_DATA" in zoo
    assert "Batch size (default: the preset's)" in zoo


def test_bench_ops_line_names_the_pooling_it_times():
    ops = typer.main.get_command(app).commands["bench"].commands["ops"]
    assert "pooling" in ops.help.split("\n\n")[0]
