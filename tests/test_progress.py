"""cnnlab's progress bars say nothing when hidden (a log, captured output)."""

from __future__ import annotations

import io

from rich.console import Console

from cnnlab.progress import ProgressBar


def test_a_hidden_bar_writes_nothing_to_a_console_that_is_not_a_terminal():
    # rich before 15 printed an empty line here when the bar stopped: a blank line in
    # every log of a folder's decoding, a download or a sweep.
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with ProgressBar(console=console, disable=True) as bar:
        bar.advance(bar.add_task("work", total=2), 2)
    assert out.getvalue() == ""


def test_a_shown_bar_still_ends_with_its_last_frame():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=60)
    with ProgressBar(console=console) as bar:
        bar.advance(bar.add_task("work", total=2), 2)
    assert "work" in out.getvalue()
