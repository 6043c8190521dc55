"""Session 28's follow-ups in `cnnlab design`: the help names a sweep's folder SWEEP, ..."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app as cnnlab_app


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cnnlab_app, ["design", *command, "--help"],
                                env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_help_names_the_sweep_folder_as_its_default_report_folder_does():
    # "Usage: ... analyze [OPTIONS] DIRECTORY..." beside "(default: DIR/analysis ...)":
    # which DIR? --out's own placeholder is DIR, the report folder itself.
    analyze = help_of("analyze")
    assert "[OPTIONS] SWEEP..." in analyze and "SWEEP/analysis for one sweep" in analyze
    assert "DIRECTORY" not in analyze and "DIR/analysis" not in analyze
    status = help_of("status")
    assert "[OPTIONS] SWEEP" in status and "DIRECTORY" not in status
