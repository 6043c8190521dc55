"""Ctrl-C through code that catches it.

Some libraries catch whatever interrupts them and raise an error of their own (the
torch.export-based ONNX exporter does: the KeyboardInterrupt survives, at best, as the
``__context__`` of another exception). A caller that falls back to another way on an
error would then carry on after Ctrl-C. :class:`SigintRecorder` records the signal for
the duration of a block, so the caller can tell an interrupt from a failure, and can
hold it back over steps that must finish together (renaming a pair of files);
:func:`interrupt_wins` makes such a block end as KeyboardInterrupt. And SIGTERM made to
stop work as Ctrl-C does (:func:`sigterm_as_interrupt`).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable


class SigintRecorder:
    """Within ``with SigintRecorder() as sigint``: Ctrl-C is recorded (``received``) and
    then handled as before (Python's handler raises KeyboardInterrupt), except inside
    ``sigint.deferred()``, which raises it only once its block has finished. The previous
    handler is put back on exit. Outside the main thread, or where SIGINT is ignored or
    left to the OS, nothing is installed and only exception chains are checked."""

    def __init__(self):
        self.received = False
        self._deferring = False
        self._previous = None

    def __enter__(self) -> SigintRecorder:
        previous = signal.getsignal(signal.SIGINT)
        if callable(previous):  # a Python handler to call on (not SIG_IGN, not SIG_DFL)
            try:
                signal.signal(signal.SIGINT, self._on_signal)
                self._previous = previous
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_signal(self, signum, frame) -> None:
        self.received = True
        if not self._deferring:
            self._previous(signum, frame)

    def check(self, exc: BaseException | None = None) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came, or ``exc`` comes from an interrupt."""
        if self.received or from_interrupt(exc):
            raise KeyboardInterrupt from exc

    @contextlib.contextmanager
    def deferred(self):
        """Run the block to its end; a Ctrl-C during it is raised after it."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.received:
            raise KeyboardInterrupt


def from_interrupt(exc: BaseException | None) -> bool:
    """Whether a KeyboardInterrupt is among the causes and contexts of ``exc``."""
    todo, seen = [exc], set()
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        todo += [exc.__cause__, exc.__context__]
    return False


@contextlib.contextmanager
def interrupt_wins():
    """Ctrl-C during the block ends it as KeyboardInterrupt, whatever error it became on
    the way: cut off while `import onnx` loads ml_dtypes, numpy's lazy attributes recurse
    (a RecursionError traceback, not "interrupted"); onnxruntime's would read as a file
    it cannot load."""
    with SigintRecorder() as sigint:
        try:
            yield
        except Exception as exc:
            sigint.check(exc)
            raise


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM (`kill`, `timeout`, a job scheduler) raises KeyboardInterrupt from here on,
    so work stops as on Ctrl-C: what is finished kept and said, not the process just
    ending. Returns the call that puts the previous handler back (nothing to put back off
    the main thread, where signals cannot be set, or where it was set outside Python)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: signals stay as they are
        return lambda: None

    def put_back() -> None:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    return put_back
