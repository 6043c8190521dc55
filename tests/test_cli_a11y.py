"""cnnlab's output where it is read in other ways than in a wide colour terminal: a log
that FORCE_COLOR colours, a 40-column terminal (a split pane, a large font, a screen
magnifier). In-process, without torch: a few milliseconds each."""

from __future__ import annotations

import io
import math
import re
import time

import click
import pytest
import typer
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.cli.messages import output_console


def _clean_env(monkeypatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


def test_a_spinner_stays_out_of_a_log_that_asks_for_colour(monkeypatch):
    # `cnnlab bench ops 2>&1 | tee log` under FORCE_COLOR=1 (as CI sets it): rich took
    # the pipe for a terminal and wrote "\r\x1b[2K⠙ timing convolutions ..." into the
    # log ten times a second, until the bench ended.
    _clean_env(monkeypatch)
    monkeypatch.setenv("FORCE_COLOR", "1")
    log = io.StringIO()
    console = output_console(file=log)
    with console.status("timing convolutions ...") as status:
        status.update("still timing ...")
        time.sleep(0.2)  # rich redraws 12.5 times a second
    console.print("done")
    assert log.getvalue().endswith("done\n") and "timing" not in log.getvalue()


def test_a_spinner_still_spins_in_a_terminal(monkeypatch):
    _clean_env(monkeypatch)
    screen = io.StringIO()
    with output_console(file=screen, force_terminal=True).status("timing convolutions ..."):
        time.sleep(0.1)
    assert "timing convolutions" in screen.getvalue()


def _help(path: list[str], width: int) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output.split("Examples:")[0]  # the options: the examples are test_cli_narrow.py's


@pytest.mark.parametrize("path", [["train"], ["bench", "throughput"], ["design", "run"]])
def test_help_fits_a_40_column_terminal(path):
    # The options' text began at column 34 and ran to 44: the terminal broke every line
    # again, a word or two on a row of its own. A long option name may still stand
    # alone on its line, wider than the terminal.
    for line in _help(path, 40).splitlines():
        name_alone = line.lstrip().startswith("-") and "  " not in line.strip()
        assert len(line) <= 40 or name_alone, (path, line)


def test_a_value_too_long_for_a_narrow_help_is_broken_at_a_hyphen_not_mid_letter():
    # "max-autotune-no-cudagraphs" was cut "m" / "ax-autotune-no-c" / "udagraphs".
    said = _help(["train"], 40)
    assert "max-autotune-no-cudagraphs" in re.sub(r"-\n\s+", "-", said)


def test_help_in_a_terminal_narrower_than_50_columns_is_as_wide_as_the_terminal(monkeypatch):
    # click's help is never narrower than 50 columns: at 40 every line ran past the edge.
    # (CliRunner fixes the width at 80, so the help is asked for as the terminal asks.)
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(click.formatting, "FORCED_WIDTH", None)
    command = typer.main.get_command(app).commands["train"]
    ctx = command.context_class(command, info_name="train", max_content_width=120)
    said = command.get_help(ctx).split("Examples:")[0]
    assert "--data DATA" in said
    assert max(len(line) for line in said.splitlines()
               if "  " in line.strip()) <= 40


def _speedrun_tables(monkeypatch, width: int, capsys) -> str:
    from cnnlab.bench.speedrun import FULL_RECIPE, SpeedrunResult, ablation_rows, summarize
    from cnnlab.cli import speedrun_tables

    def run(seed, seconds, acc):
        return SpeedrunResult(seed, seconds, acc, acc, 12.0, 14)

    full = summarize([run(0, 10.0, 0.93), run(1, 12.0, 0.95)], 0.92)
    half = summarize([run(0, 11.0, 0.93), SpeedrunResult(1, None, 0.91, 0.91, 12.0, 14)], 0.92)
    diverged = SpeedrunResult(1, None, math.nan, math.nan, 3.0, 0, diverged=True)
    monkeypatch.setattr(speedrun_tables.console, "width", width)
    speedrun_tables.print_candidates({"the recipe": full, "lr=0.2 ema_decay=0.99": half},
                                     0.92, 2)
    speedrun_tables.print_ablation(ablation_rows({
        FULL_RECIPE: full, "no label smoothing": half,
        "no weight decay": summarize([run(0, 9.0, 0.94), diverged], 0.92)}), 0.92, 2)
    return capsys.readouterr().out


def test_a_speedrun_candidate_is_named_whole_at_80_columns(monkeypatch, capsys):
    # rich squeezed the candidates' column and cut the recipe to "ema_decay=0.…": which
    # candidate the row was could not be told.
    out = _speedrun_tables(monkeypatch, 80, capsys)
    assert "…" not in out and "ema_decay=0.99" in out
    assert all(len(line) <= 80 for line in out.splitlines() if "│" in line)


def test_speedrun_tables_at_40_columns_cut_no_number(monkeypatch, capsys):
    # Every accuracy read "9…" and every delta "+0…"; now the columns that do not fit
    # are left out, and the caption names them.
    out = _speedrun_tables(monkeypatch, 40, capsys)
    assert "…" not in out
    rows = [line for line in out.splitlines() if "│" in line]
    assert all(len(line) <= 40 for line in rows)
    assert "94.00" in out and "1.41%" in out and "+2.00" in out  # final acc, worth
    assert "not shown at 40 columns" in " ".join(out.split())


def test_no_colour_leaves_the_words_that_say_what_a_colour_said(monkeypatch):
    # NO_COLOR (https://no-color.org): the error's "error:" and the warning's "warning:"
    # carry the meaning; red and yellow only repeat it.
    from cnnlab.cli import messages

    _clean_env(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    screen = io.StringIO()
    monkeypatch.setattr(messages, "err", messages.WrittenConsole(
        file=screen, force_terminal=True, highlight=False, soft_wrap=True))
    messages.error("unknown model 'x'")
    messages.warning("skipped 1 image")
    text = screen.getvalue()
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]", text)  # no foreground colour
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "error: unknown model 'x'" in plain and "warning: skipped 1 image" in plain


@pytest.mark.parametrize("width", [80, 40])
def test_a_narrow_compare_table_keeps_its_title_on_one_line(tmp_path, width):
    # Two runs differing in lr alone: a table 13 columns wide, its title wrapped to it,
    # "Settings that" over "differ" (read aloud as two headings).
    from compare_helpers import FINISHED, make_run, three_epochs

    from cnnlab.formatting import rich_as_text
    from cnnlab.train import compare_runs
    from cnnlab.train.compare_tables import rich_tables

    runs = [make_run(tmp_path, name, three_epochs(0.5, 0.8, 0.7), FINISHED, lr=lr)
            for name, lr in (("a", 0.1), ("b", 0.05))]
    text = rich_as_text(*rich_tables(compare_runs(runs), width), width=width)
    assert "Settings that differ" in text.splitlines()
