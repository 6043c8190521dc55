"""Ctrl-C through code that catches it.

Some libraries catch whatever interrupts them and raise an error of their own (the
torch.export-based ONNX exporter does: the KeyboardInterrupt survives, at best, as the
``__context__`` of another exception). A caller that falls back to another way on an
error would then carry on after Ctrl-C. :class:`SigintRecorder` records the signal for
the duration of a block, so the caller can tell an interrupt from a failure, and can
hold it back over steps that must finish together (renaming a pair of files);
:func:`interrupt_wins` makes such a block end as KeyboardInterrupt. And SIGTERM made to
stop work as Ctrl-C does (:func:`sigterm_as_interrupt`), the exit status that tells the
two apart (:func:`interrupted_status`), and one handler set for every signal that asks a
loop to stop, Windows' Ctrl-Break included (:func:`hear_stop_signals`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
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
        self._on_held = None

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
        first = not self.received
        self.received = True
        if not self._deferring:
            self._previous(signum, frame)
        elif first and self._on_held is not None:
            self._on_held()

    def check(self, exc: BaseException | None = None) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came, or ``exc`` comes from an interrupt."""
        if self.received or from_interrupt(exc):
            raise KeyboardInterrupt from exc

    @contextlib.contextmanager
    def deferred(self, on_held: Callable[[], None] | None = None):
        """Run the block to its end; a Ctrl-C during it is raised after it. ``on_held``
        is called when the first one comes, to say why nothing stops yet."""
        self._deferring, self._on_held = True, on_held
        try:
            yield
        finally:
            self._deferring, self._on_held = False, None
        if self.received:
            raise KeyboardInterrupt


def _chain(exc: BaseException | None):
    """``exc``, then its causes and contexts, each once, nearest first."""
    todo, seen = [exc], set()
    while todo:
        exc = todo.pop(0)
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [exc.__cause__, exc.__context__]


def from_interrupt(exc: BaseException | None) -> bool:
    """Whether a KeyboardInterrupt is among the causes and contexts of ``exc``."""
    return any(isinstance(e, KeyboardInterrupt) for e in _chain(exc))


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


class Terminated(KeyboardInterrupt):
    """The KeyboardInterrupt SIGTERM (on Windows SIGBREAK too) raises under
    :func:`sigterm_as_interrupt`, status 143 either way: caught wherever Ctrl-C's is,
    and told from it by :func:`interrupted_status`."""


# Whether SIGTERM stopped the latest sigterm_as_interrupt() block: for a command that
# keeps no exception that says (a sweep raises its own SweepInterrupted; a bench notes
# only that it was stopped), and those begin such a block. Cleared as each block begins,
# and asked only where no exception says, so one command's SIGTERM is not read as the
# next one's (many run in one process under the tests).
_terminated = False


def _raise_interrupt(signum, frame) -> None:
    global _terminated
    _terminated = True
    raise Terminated


def termination_signals() -> list[signal.Signals]:
    """The signals that ask a program to end, as SIGTERM does: SIGTERM, and on Windows
    SIGBREAK too. Windows delivers no SIGTERM from outside (`taskkill /F` ends a process
    at once); it asks a console program to stop with Ctrl-Break, or with CTRL_BREAK_EVENT
    sent to its process group (Python's own advice for stopping a child gracefully), whose
    default ended cnnlab on the spot: a sweep's trials left 'running', nothing said."""
    return [signal.SIGTERM, *([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])]


def hear_stop_signals(handler: Callable[[int, object], None]) -> dict:
    """Set ``handler(signum, frame)`` for every signal that asks work to stop: Ctrl-C
    (SIGINT) and :func:`termination_signals`. Windows' Ctrl-Break reaches it as SIGTERM,
    which it stands for (the status 143 and what is said, as :class:`Terminated` has
    them). Returns the handlers replaced, signal to handler, for ``signal.signal`` to put
    back; off the main thread, where signals cannot be set, none is set and none returned.

    A loop listing SIGINT and SIGTERM itself missed SIGBREAK, whose default ends the
    process on the spot: Ctrl-Break during training lost the work since the last
    checkpoint, and saved none."""

    def as_sigterm(signum, frame) -> None:
        handler(int(signal.SIGTERM), frame)

    previous = {}
    for sig in (signal.SIGINT, *termination_signals()):
        try:
            previous[sig] = signal.signal(
                sig, handler if sig in (signal.SIGINT, signal.SIGTERM) else as_sigterm)
        except ValueError:  # not the main thread: signals stay as they are
            break
    return previous


def sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM (`kill`, `timeout`, a job scheduler; on Windows Ctrl-Break, see
    :func:`termination_signals`) raises KeyboardInterrupt (a :class:`Terminated`) from
    here on, so work stops as on Ctrl-C: what is finished kept and said, not the process
    just ending. Returns the call that puts the previous handlers back (nothing to put
    back off the main thread, where signals cannot be set, or where it was set outside
    Python)."""
    global _terminated
    previous = {}
    try:
        for sig in termination_signals():
            previous[sig] = signal.signal(sig, _raise_interrupt)
    except ValueError:  # not the main thread: signals stay as they are
        return lambda: None
    _terminated = False

    def put_back() -> None:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)

    return put_back


def interrupted_status(exc: BaseException | None = None) -> int:
    """The exit status of a command a signal stopped: 128 + the signal's number, as a shell
    reports a process that signal ended and as job schedulers (SLURM, Kubernetes, systemd)
    read it: 143 for SIGTERM, 130 for Ctrl-C (SIGINT). Every command that ends on an
    interrupt exits with it (before, 130 for both: a scheduler's SIGTERM read as a user's
    Ctrl-C).

    The signal is the one ``exc`` (by default the exception being handled, so an
    ``except`` block's ``raise typer.Exit(interrupted_status())`` asks its own), or what
    it came from, names: a ``signal_name`` ("SIGTERM", as TrainingInterrupted carries
    it), a :class:`Terminated`, or else any KeyboardInterrupt, Ctrl-C's (as is a
    ``signal_name`` of None: not known). Where none of them is there (no exception, or
    one that speaks of no signal, as a sweep's SweepInterrupted), SIGTERM if one stopped
    the latest :func:`sigterm_as_interrupt` block, else Ctrl-C."""
    chain = list(_chain(exc if exc is not None else sys.exc_info()[1]))
    named = [e.signal_name for e in chain if isinstance(getattr(e, "signal_name", None), str)]
    says = any(hasattr(e, "signal_name") or isinstance(e, KeyboardInterrupt) for e in chain)
    if named:
        name = named[0]
    elif any(isinstance(e, Terminated) for e in chain):
        name = "SIGTERM"  # before any plain KeyboardInterrupt: one raised from it, say
    else:
        name = "SIGTERM" if _terminated and not says else "SIGINT"
    try:
        return 128 + int(signal.Signals[name])
    except KeyError:  # a name this system has no signal for: said as Ctrl-C
        return 128 + int(signal.SIGINT)
