"""A run stopped by Ctrl-C says how to resume it, whatever its folder is called: an
--out-dir holding "[/b]" ended the command in rich's MarkupError (a traceback), and the
`cnnlab resume` line was never printed."""

from __future__ import annotations

import pytest
import typer

from cnnlab.cli import train as train_cli
from cnnlab.train import TrainingInterrupted


def test_an_interrupted_runs_folder_is_printed_as_it_is(capsys):
    folder = "runs [/b]/x"

    def stopped():
        raise TrainingInterrupted(f"interrupted: `cnnlab resume '{folder}'` continues it")

    with pytest.raises(typer.Exit):
        train_cli._guarded(stopped)
    assert f"`cnnlab resume '{folder}'` continues it" in " ".join(capsys.readouterr().err.split())
