"""cnnlab's output where users really read it: a CI log that FORCE_COLOR colours, a dumb
terminal, an output that cannot hold "→" or "±" (a Windows code page, LC_ALL=C).

Each checks the one place that decides (progress.shows_live for live bars,
command_line's error handler for characters), in-process: a few milliseconds, not a
`cnnlab` start with torch."""

from __future__ import annotations

import io
from importlib.metadata import version

import pytest
from rich.console import Console

from cnnlab.progress import shows_live
from cnnlab.train.train_progress import TrainProgress

# rich 14 reads TTY_COMPATIBLE and TTY_INTERACTIVE; rich 13, which pyproject admits,
# knows neither variable: nothing to check there.
_RICH_14 = pytest.mark.skipif(int(version("rich").split(".")[0]) < 14,
                              reason="rich < 14 reads no TTY_COMPATIBLE / TTY_INTERACTIVE")


def _clean_env(monkeypatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("asked", [("FORCE_COLOR", "1"),
                                   pytest.param(("TTY_COMPATIBLE", "1"), marks=_RICH_14)])
def test_a_log_that_asks_for_colour_gets_epoch_lines_not_bar_frames(monkeypatch, asked):
    # FORCE_COLOR=1 into a log file: rich took the file for a terminal and the training
    # bar was redrawn into it ten times a second (~2 KB/s of "\r\x1b[2K" frames).
    _clean_env(monkeypatch)
    monkeypatch.setenv(*asked)
    log = io.StringIO()  # no isatty: a file, as a CI log is
    console = Console(file=log, width=100)
    assert console.is_terminal  # what rich makes of the variable
    assert not shows_live(console)
    with TrainProgress(1, 200, console=console) as progress:
        progress.start_epoch(1)
        for step in range(1, 201):
            progress.update(step, 2.3, 0.1, 1000.0)
        progress.end_epoch(dict(epoch=1, train_loss=2.3, train_acc=0.1, test_loss=2.3,
                                test_acc=0.1, images_per_s=1000.0, epoch_time_s=1.0))
    text = log.getvalue()
    assert "epoch 1/1  train loss 2.3000" in text
    assert "\r" not in text and "\x1b[2K" not in text and len(text) < 300


@pytest.mark.parametrize("setting", [("TERM", "dumb"),
                                     pytest.param(("TTY_INTERACTIVE", "0"), marks=_RICH_14)])
def test_a_terminal_rich_does_not_redraw_gets_plain_epoch_lines(monkeypatch, setting):
    # rich draws no live frames on these; the bar's last frame had come after the
    # epoch's line, with a blank line.
    _clean_env(monkeypatch)
    monkeypatch.setenv(*setting)
    console = Console(file=io.StringIO(), force_terminal=True)
    assert not shows_live(console) and TrainProgress(2, 10, console=console).quiet


def test_a_real_terminal_still_gets_the_live_bar(monkeypatch):
    _clean_env(monkeypatch)
    console = Console(file=io.StringIO(), force_terminal=True)
    assert shows_live(console)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")  # asked for the bar in so many words
    assert shows_live(Console(file=io.StringIO()))


def test_every_progress_bar_stays_out_of_a_log_that_asks_for_colour(monkeypatch):
    # The download, folder-decoding, model-counting and sweep bars are ProgressBars: one
    # check for all (the download bar and design's trial bar had drawn frames into a log).
    from cnnlab.progress import ProgressBar

    _clean_env(monkeypatch)
    monkeypatch.setenv("FORCE_COLOR", "1")
    log = io.StringIO()
    with ProgressBar(console=Console(file=log, width=100)) as bar:
        task = bar.add_task("downloading", total=50)
        for _ in range(50):
            bar.advance(task)
            bar.refresh()
    assert bar.disable and log.getvalue() == ""
