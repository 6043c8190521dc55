"""Progress bars for long work (decoding a folder, a download, a sweep): rich's, made
silent when hidden.

A bar is hidden where no one watches it live (a log file, a test's captured stderr, the
user's ``--no-progress``). rich before 15 still printed an empty line when a hidden bar
stopped on a console that is not a terminal, a blank line in every log; pyproject admits
rich 13, so cnnlab's bars stop without a word when hidden.
"""

from __future__ import annotations

import importlib.util

from rich.console import Console
from rich.progress import Progress


def shows_live(console: Console) -> bool:
    """Whether a live bar on ``console`` is watched and drawn: a terminal, or a Jupyter
    notebook that has ipywidgets, which rich draws its live display with (without it,
    rich warns 'install ipywidgets for Jupyter support' and draws no bar: plain lines
    serve better there)."""
    if console.is_terminal:
        return True
    return console.is_jupyter and importlib.util.find_spec("ipywidgets") is not None


class ProgressBar(Progress):
    """rich's Progress, which says nothing at all when ``disable`` is set."""

    def stop(self) -> None:
        if not self.disable:
            super().stop()
