"""Appending an epoch's lines to a run's log (metrics.csv, class_metrics.jsonl): past a
line a kill left half-written (:func:`drop_torn_tail`), and while another program may
hold the file open.

On Windows a file another program holds refuses every write: Excel showing metrics.csv
as training goes on holds it until it is closed, a sync client for a moment. The append
came before the epoch's checkpoint, so the refusal ended training and cost that epoch's
work too. Here a held log is tried again for a moment (the waits cnnlab.atomic.replace_file
uses); still held, the run goes on: the lines wait in memory and in a file beside the
log, ``NAME.pending`` (so a kill keeps them too; not a name Excel opens on a double
click, so not held in turn), and go into the log at the next append that finds it free,
or at the run's end. What is still waiting then stays in ``NAME.pending``, said, and is
read with the log (:func:`with_kept`) and moved into it by the next resume.

Elsewhere a refused append is a real refusal (the file's or the folder's permissions)
and is raised at once, as before; so is a Windows file marked read-only.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cnnlab.atomic import (
    WINDOWS_WAITS,
    atomic_write_bytes,
    atomic_write_text,
    open_to_append,
    read_only,
)
from cnnlab.notices import warn_user


def kept_file(path: Path) -> Path:
    """Where the lines ``path``'s holder kept out of it wait: ``NAME.pending`` beside it."""
    return path.with_name(f"{path.name}.pending")


def with_kept(logged: list, kept: list, epoch_of: Callable) -> list:
    """A log's records (``logged``, as its file holds them) and those of the epochs it
    lacks from ``kept`` (its ``.pending`` file's). The file's win: a ``.pending`` left
    behind once its lines went in (its removal refused) holds no newer record, since a
    resume drops the rows past its checkpoint before it appends again."""
    epochs = {epoch_of(record) for record in logged}
    return [*logged, *(record for record in kept if epoch_of(record) not in epochs)]


def take_in_kept_lines(path: Path, epoch_of: Callable[[str], float]) -> None:
    """The log ``path`` (lines of one record each) given the lines of the epochs it lacks
    from ``NAME.pending``, which goes: a resume's log is whole again."""
    aside = kept_file(path)
    if not aside.is_file():
        return
    logged, kept = (p.read_text(encoding="utf-8").splitlines() if p.is_file() else []
                    for p in (path, aside))
    atomic_write_text(path, "".join(f"{line}\n" for line in with_kept(logged, kept, epoch_of)))
    drop_kept(path)


def drop_kept(path: Path) -> None:
    """Remove ``NAME.pending`` once its lines are in the log ``path``."""
    try:
        kept_file(path).unlink(missing_ok=True)
    except OSError:
        pass  # held in turn (Windows): harmless, the log's own records win (with_kept)


class LogAppends:
    """Appends one epoch's lines at a time to the log ``path``; ``header``: what a new (or
    empty) file starts with; ``noun``: an epoch's lines as they are said ("row").
    ``category``: the warning a held file is said with."""

    def __init__(self, path: Path, header: str, noun: str, category: type[Warning]):
        self.path, self.header, self.noun = Path(path), header, noun
        self.category = category
        self.waiting: list[tuple[int, str]] = []  # (epoch, its lines) not in the file yet
        self.held = False  # said held, and not written since

    def append(self, epoch: int, lines: str) -> None:
        """``lines`` (whole, "\\n"-ended) to the log, after any still waiting."""
        self.waiting.append((epoch, lines))
        # Known held (Excel open): one try an epoch, not seconds of waiting each time.
        self._write(() if self.held else WINDOWS_WAITS, last=False)

    def finish(self) -> None:
        """At the run's end: the lines still waiting written, the file waited for once
        more; where it is still held, said where they are (or that they are lost)."""
        if self.waiting:
            self._write(WINDOWS_WAITS, last=True)

    def _write(self, waits: tuple[float, ...], last: bool) -> None:
        for wait in (*waits, None):
            try:
                self._append_waiting()
                break
            except PermissionError:
                if sys.platform != "win32" or read_only(self.path):
                    self.waiting.clear()  # the run ends on it, as it always did
                    raise
                if wait is None:
                    self._keep_aside(last)
                    return
                time.sleep(wait)
            except BaseException:  # a full disk: the run ends, and says so elsewhere
                self.waiting.clear()
                raise
        if self.held:  # written at last: what waited beside it is in the file now
            self.held = False
            drop_kept(self.path)

    def _append_waiting(self) -> None:
        with open_to_append(self.path, encoding="utf-8", newline="") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                fh.write(self.header)
            fh.write("".join(lines for _, lines in self.waiting))
            fh.flush()
            os.fsync(fh.fileno())
        self.waiting.clear()

    def _keep_aside(self, last: bool) -> None:
        """The waiting lines into ``NAME.pending`` (whole, replacing what it held), and
        the holder said: once as it is found, and at the run's end if still held."""
        aside, problem = kept_file(self.path), None
        try:
            atomic_write_text(aside, self.header + "".join(lines for _, lines in self.waiting))
        except OSError as exc:  # held too, say: the lines are still in memory
            problem = exc
        epochs = [epoch for epoch, _ in self.waiting]
        what, are = ((f"epoch {epochs[0]}'s {self.noun}", "is") if len(epochs) == 1
                     else (f"epochs {epochs[0]}-{epochs[-1]}'s {self.noun}s", "are"))
        name = self.path.name
        if last and problem is not None:
            warn_user(f"{self.path} is still held by another program as the run ends, and "
                      f"{aside} could not be written either ({problem}): {what} {are} "
                      f"lost from {name} (the checkpoints keep what was trained)",
                      self.category)
        elif last:
            warn_user(f"{self.path} is still held by another program as the run ends: {what} "
                      f"{are} in {aside} instead, which cnnlab reads with {name} (load_run, "
                      "cnnlab compare) and a resume moves into it; for other programs, close "
                      f"the one holding {name} and add that file's {self.noun}s to its end",
                      self.category)
        elif not self.held:
            where = f"in memory and in {aside}" if problem is None else "in memory"
            warn_user(f"{self.path} is held open by another program (a spreadsheet such as "
                      f"Excel showing it, or a sync client), so {what} could not be written "
                      f"to it: training goes on, its {self.noun}s kept ({where}) and written "
                      "once it is free. Close it there, or open a copy of it instead",
                      self.category)
        self.held = True


def drop_torn_tail(path: Path, category: type[Warning]) -> None:
    """Cut a line that a kill (or a full disk) left half-written at the end of an
    append-only log: the next append would otherwise continue it, gluing two rows into
    one that parses as wrong numbers (or not at all). A line that is no UTF-8 (a damaged
    disk block) goes too, said (as ``category``): the rewrites read the log as text, and
    failed on it."""
    if not path.is_file():
        return
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)
    kept = []
    for number, line in enumerate(lines, 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            warn_user(f"{path} line {number}: dropped a line that is not text (damaged)",
                      category)
            continue
        kept.append(line)
    whole = b"".join(kept)
    if whole != data:
        atomic_write_bytes(path, lambda tmp: Path(tmp).write_bytes(whole))
