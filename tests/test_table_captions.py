"""A table's caption goes below it at the console's width: wrapped at words in a
terminal, each line whole in a file or a pipe. The commands' console soft-wraps (so a
pipe's lines stay whole), and under it a caption went out as one line, which a terminal
cut at its width mid-word; wrapped as the table's own caption, it was squeezed into the
table's width, centred."""

from __future__ import annotations

import io
import re

import pytest
from compare_helpers import FINISHED, make_run, three_epochs
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.messages import print_table

LONG = ("Δ acc: variant - full recipe. Worth: what the ingredient gives, > 0 where it "
        "helps (full - without for one the recipe has, with - full for one it adds)")


def _console(width: int, terminal: bool = True) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, soft_wrap=True, force_terminal=terminal,
                   no_color=True), buf


def _lines(buf: io.StringIO) -> list[str]:
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buf.getvalue()).splitlines()


def _narrow_table(caption: str | None = None) -> Table:
    table = Table(title="a narrow table", caption=caption)
    table.add_column("variant")
    table.add_column("acc", justify="right")
    table.add_row("full", "91.2%")
    return table


@pytest.mark.parametrize("own", [True, False], ids=["the-tables-own", "given"])
def test_a_caption_wraps_at_words_below_the_table_in_a_terminal(own):
    console, buf = _console(60)
    table = _narrow_table(LONG if own else None)
    print_table(console, table, None if own else LONG)
    lines = _lines(buf)
    assert all(len(line) <= 60 for line in lines), lines
    below = lines[lines.index(next(x for x in lines if x.startswith("└"))) + 1:]
    assert " ".join(" ".join(below).split()) == LONG
    assert below[0].startswith("Δ acc") and len(below[0]) > 40  # the console's width
    assert table.caption == (LONG if own else None)  # the caller's table is as it was


def test_a_caption_in_a_pipe_is_one_whole_line_with_its_brackets():
    console, buf = _console(160, terminal=False)
    print_table(console, _narrow_table(), LONG + " [see --out]")
    assert _lines(buf)[-1] == LONG + " [see --out]"


def _terminal(monkeypatch, module, width: int) -> io.StringIO:
    console, buf = _console(width)
    monkeypatch.setattr(module, "console", console)
    return buf


def test_design_sample_wraps_its_caption_in_a_terminal(monkeypatch):
    from cnnlab.cli import design

    buf = _terminal(monkeypatch, design, 80)
    result = CliRunner().invoke(app, ["design", "sample", "--space", "anynetx_a", "-n", "1"])
    assert result.exit_code == 0, result.output
    lines = _lines(buf)
    assert all(len(line) <= 80 for line in lines), lines
    assert "acts: activations per image, the output elements of every conv" in " ".join(
        " ".join(lines).split())


def test_the_speedrun_ablation_wraps_its_caption_in_a_terminal(monkeypatch):
    from cnnlab.bench.speedrun import FULL_RECIPE, SpeedrunResult, ablation_rows, summarize
    from cnnlab.cli import speedrun_tables

    buf = _terminal(monkeypatch, speedrun_tables, 80)
    full = summarize([SpeedrunResult(0, 10.0, 0.93, 0.93, 12.0, 14)], 0.92)
    speedrun_tables.print_ablation(ablation_rows({FULL_RECIPE: full}), 0.92, 1)
    lines = _lines(buf)
    assert all(len(line) <= 80 for line in lines), lines
    assert LONG in " ".join(" ".join(lines).split())


def test_compare_wraps_its_caption_in_a_narrow_terminal(monkeypatch, tmp_path):
    from cnnlab.cli import compare

    runs = [make_run(tmp_path, f"lenet_bn_d2l-{name}", three_epochs(0.5, 0.8, 0.7), FINISHED,
                     model="lenet_bn_d2l") for name in ("book", "fast")]
    buf = _terminal(monkeypatch, compare, 60)
    result = CliRunner().invoke(app, ["compare", *map(str, runs)])
    assert result.exit_code == 0, result.output
    lines = _lines(buf)
    lines = lines[:lines.index(next(x for x in lines if x.startswith("The runs' settings")))]
    assert all(len(line) <= 60 for line in lines), lines  # (a message after: one line)
    assert "not shown at 60 columns: device" in " ".join(" ".join(lines).split())


def test_summary_wraps_its_caption_in_a_narrow_terminal(monkeypatch):
    from cnnlab.cli import models

    console, buf = _console(60)
    monkeypatch.setattr(models, "output_console", lambda: console)
    result = CliRunner().invoke(app, ["summary", "densenet121", "--input", "3x64x64"])
    assert result.exit_code == 0, result.output
    lines = _lines(buf)
    assert all(len(line) <= 60 for line in lines), lines
    assert "long layer names shortened to their end" in " ".join(" ".join(lines).split())
