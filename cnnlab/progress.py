"""Progress bars for long work (decoding a folder, a download, a sweep): rich's, made
silent when hidden.

A bar is hidden where no one watches it live (a log file, a test's captured stderr, the
user's ``--quiet``). rich before 15 still printed an empty line when a hidden bar
stopped on a console that is not a terminal, a blank line in every log; pyproject admits
rich 13, so cnnlab's bars stop without a word when hidden.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import Progress


def shows_live(console: Console) -> bool:
    """Whether a live bar on ``console`` is watched and drawn: an interactive terminal,
    or a Jupyter notebook that has ipywidgets, which rich draws its live display with
    (without it, rich warns 'install ipywidgets for Jupyter support' and draws no bar:
    plain lines serve better there).

    Not a terminal rich redraws nothing on (TERM=dumb, TTY_INTERACTIVE=0): the bar's
    last frame came after the epoch lines. Nor a file or a pipe that FORCE_COLOR or
    TTY_COMPATIBLE=1 has rich treat as a terminal: they ask for colour, and a CI log got
    the bar redrawn ten times a second (some 2 KB a second of frames); TTY_INTERACTIVE=1
    still asks for the bar there."""
    if console.is_jupyter:
        return importlib.util.find_spec("ipywidgets") is not None
    if not console.is_interactive:  # a terminal, not dumb (rich 14: TTY_INTERACTIVE)
        return False
    asked = os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1"
    return not asked or os.environ.get("TTY_INTERACTIVE") == "1" or _is_a_tty(console.file)


def _is_a_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class ProgressBar(Progress):
    """rich's Progress, which says nothing at all when ``disable`` is set, nor where no
    one watches it live (:func:`shows_live`: a log that FORCE_COLOR made rich take for
    a terminal got the bar's frames ten times a second): there ``in_a_log``, a line
    saying what the bar would have shown, is printed once instead (None: nothing)."""

    def __init__(self, *columns, disable: bool = False, in_a_log: str | None = None,
                 **options):
        super().__init__(*columns, disable=disable, **options)
        self.disable = disable or not shows_live(self.console)
        if in_a_log and self.disable and not disable:
            self.console.print(in_a_log, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        if not self.disable:
            super().stop()


@contextlib.contextmanager
def counting_bar(what: str, total: int, shown: bool = True) -> Iterator[Callable[[int], None]]:
    """A bar on stderr saying ``what`` ("scoring test images") and counting to
    ``total``, gone when done; gives the function that moves it on by n. Nothing where
    ``shown`` is False or no one watches live (:class:`ProgressBar`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with ProgressBar(TextColumn(what), BarColumn(), MofNCompleteColumn(),
                     TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                     disable=not shown) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)
