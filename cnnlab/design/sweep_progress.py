"""A sweep's progress in a notebook cell: one line, redrawn as each trial finishes.

``run_sweep`` from a notebook showed nothing while its trials trained (minutes of a
blank cell, as if hung): the command line prints a line per trial through its
``on_result``, which Python callers rarely give. Without one, in a notebook,
:func:`notebook_progress` is that ``on_result``, drawn with the training progress's
:class:`~cnnlab.train.train_progress.NotebookLine`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class SweepLine:
    """Trials finished of all, done and failed, the last one's error, time so far."""

    def __init__(self, line, directory, counts: dict[str, int], at_once: int):
        self.line = line
        self.directory = directory
        self.total = sum(counts.values())
        self.done, self.failed = counts.get("done", 0), counts.get("failed", 0)
        self.at_once = at_once
        self.started = time.monotonic()
        self.line.show(f"{self._so_far()}; training {at_once} at a time")  # at once: started

    def _so_far(self) -> str:
        return (f"sweep {self.directory}: {self.done + self.failed}/{self.total} trials "
                f"finished ({self.done} done, {self.failed} failed)")

    def __call__(self, row: dict[str, Any]) -> None:
        """A trial's stored row (``run_sweep``'s ``on_result``)."""
        if row.get("status") == "done":
            self.done += 1
            error = row.get("error_pct")  # None: a NaN stored (SQLite reads it back so)
            last = f"trial {row['id']}: " + (f"{error:.1f}% error" if error is not None
                                             else "no error measured")
        else:
            self.failed += 1
            last = f"trial {row['id']}: {row.get('status')}"
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        self.line.show(f"{self._so_far()}; last {last}; {minutes}:{seconds:02d} so far")


def notebook_progress(directory, counts: dict[str, int],
                      at_once: int) -> Callable[[dict[str, Any]], None] | None:
    """A :class:`SweepLine` where this runs in a Jupyter notebook; None elsewhere (a
    terminal's caller prints what it likes through ``on_result``)."""
    from rich.console import Console

    from cnnlab.train.train_progress import NotebookLine

    line = NotebookLine.in_notebook(Console())
    return None if line is None else SweepLine(line, directory, counts, at_once)
