"""Progress bars for long work (decoding a folder, a download, a sweep): rich's, made
silent when hidden.

A bar is hidden where no one watches it live (a log file, a test's captured stderr, the
user's ``--no-progress``). rich before 15 still printed an empty line when a hidden bar
stopped on a console that is not a terminal, a blank line in every log; pyproject admits
rich 13, so cnnlab's bars stop without a word when hidden.
"""

from __future__ import annotations

from rich.progress import Progress


class ProgressBar(Progress):
    """rich's Progress, which says nothing at all when ``disable`` is set."""

    def stop(self) -> None:
        if not self.disable:
            super().stop()
