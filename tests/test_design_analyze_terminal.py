"""`cnnlab design analyze` prints what fits a terminal (the spaces, the comparisons and
their verdicts) and names the files that hold the rest; summary.md keeps everything."""

from __future__ import annotations

import io

from test_design_report import sweep
from typer.testing import CliRunner

import cnnlab.cli.design as design
from cnnlab.cli.messages import WrittenConsole


def test_analyze_fits_an_80_column_terminal_and_points_at_the_files(tmp_path, monkeypatch):
    # Before: the whole Markdown summary, its setup rows quoting each sweep's command,
    # in lines of 250+ columns that a projector's terminal broke mid-word.
    screen = io.StringIO()
    monkeypatch.setattr(design, "console", WrittenConsole(
        file=screen, force_terminal=True, width=80, soft_wrap=True, color_system=None))
    a = sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0])
    b = sweep(tmp_path / "b", [20.0, 21.0, 22.0, 23.0])
    result = CliRunner().invoke(design.app, ["analyze", str(a), str(b), "--out",
                                             str(tmp_path / "r"), "--resamples", "50"])
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    report = f"report: {tmp_path / 'r' / 'report.html'}"
    assert report in shown.splitlines()  # a path whole on its line, however long
    assert max(len(line) for line in shown.splitlines() if line != report) <= 80, shown
    assert "Spaces" in shown and "Comparisons" in shown and "median error %" in shown
    words = " ".join(shown.split())
    assert "no significant difference" in words or "better" in words  # the verdict
    assert "summary.md" in words
    # The file keeps the whole summary: the setup, its command, the notes.
    md = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    assert "## Setup" in md and "--train-subset 10000" in md and "## Notes" in md
