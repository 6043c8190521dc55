"""Ctrl-C through code that catches it.

Some libraries catch whatever interrupts them and raise an error of their own (the
torch.export-based ONNX exporter does: the KeyboardInterrupt survives, at best, as the
``__context__`` of another exception). A caller that falls back to another way on an
error would then carry on after Ctrl-C. :class:`SigintRecorder` records the signal for
the duration of a block, so the caller can tell an interrupt from a failure, and can
hold it back over steps that must finish together (renaming a pair of files).
"""

from __future__ import annotations

import contextlib
import signal


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
