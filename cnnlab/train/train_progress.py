"""The terminal's view of a training run: a progress bar while it trains, a line per
epoch (and the plain lines for a log file, a pipe, or ``quiet``). What a run leaves in
its folder is :mod:`cnnlab.train.runlog`'s."""

from __future__ import annotations

import math
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from cnnlab.formatting import seconds_text
from cnnlab.progress import shows_live

_BAR_LEAST, _BAR_MOST = 10, 40  # a bar narrower than 10 says little the step count does not
# The bar's fields, the first kept longest in a narrow terminal: (its widest text, made
# from the epochs and the steps per epoch, and the column). Its order on the line is
# _ON_THE_LINE's. Every field fits whole or is left out: at 40 columns rich had cut
# the line to "epoch 1… loss 1.8300  acc 0.5… 784 img…", every frame; with the speed
# before the bar, 100 epochs of 10,000 steps left no bar at 80 columns, and at 40 a slow
# first epoch showed no step moving, as if hung.
_FOLD = {"table_column": Column(overflow="fold")}  # a loss past 999 wraps, never cut
_FIELDS = {  # progress first: each epoch's loss and accuracy get a line of their own
    "epoch": (lambda e, s: f"epoch {e}/{e}",
              lambda: TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}",
                                 **_FOLD)),
    "steps": (lambda e, s: f"{s}/{s}", MofNCompleteColumn),
    "bar": (lambda e, s: " " * _BAR_LEAST, None),
    "loss": (lambda e, s: "loss 123.4567  acc 0.123",
             lambda: TextColumn("loss {task.fields[loss]}  acc {task.fields[acc]}", **_FOLD)),
    "remaining": (lambda e, s: "0:00:00", TimeRemainingColumn),
    "ips": (lambda e, s: "123,456 img/s", lambda: TextColumn("{task.fields[ips]} img/s", **_FOLD)),
    "elapsed": (lambda e, s: "0:00:00", TimeElapsedColumn),
}
_ON_THE_LINE = ["epoch", "bar", "steps", "loss", "ips", "elapsed", "remaining"]


def bar_columns(width: int, epochs: int, steps: int) -> list[ProgressColumn]:
    """The progress bar's columns for a ``width``-column terminal: the fields of
    :data:`_FIELDS` in turn while each fits whole (with a space between), and the bar as
    wide as the room left, up to 40 columns."""
    kept, used = [], -1  # no space before the first
    for name, (widest, _) in _FIELDS.items():
        need = len(widest(epochs, steps)) + 1
        if used + need <= width:
            kept.append(name)
            used += need
    bar = min(_BAR_MOST, _BAR_LEAST + width - used)
    return [BarColumn(bar_width=bar) if name == "bar" else _FIELDS[name][1]()
            for name in _ON_THE_LINE if name in kept]


class NotebookLine:
    """One line of a notebook cell's output, redrawn in place (an IPython display handle).

    A notebook without ipywidgets gets no live bar (:func:`~cnnlab.progress.shows_live`),
    and its cell showed nothing until the first epoch ended: minutes of a blank cell for
    a ResNet on a CPU, as if hung. This line shows the epoch's steps as they go and
    becomes the epoch's line when it ends, so each epoch leaves one line, no frames."""

    # The least time between two step updates: each is a message to the notebook's
    # front end, and log_every=1 on a GPU would send hundreds a second (rich's bar
    # redraws at most 10 times a second, whatever the updates).
    MIN_INTERVAL_S = 0.2

    def __init__(self, display):
        self._display = display  # IPython.display.display
        self._handle = None
        self._passed_at = -math.inf  # when the last step update was drawn

    def show(self, text: str, passing: bool = False) -> None:
        """Draw ``text``; a ``passing`` one (a step's update) is left out if the last one
        was drawn less than MIN_INTERVAL_S ago. An epoch's start, end and stop always show."""
        if passing:
            now = time.monotonic()
            if now - self._passed_at < self.MIN_INTERVAL_S:
                return
            self._passed_at = now
        data = {"text/plain": text}
        if self._handle is None:
            self._handle = self._display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)

    def end(self) -> None:
        """Leave the line as it is: the next :meth:`show` starts a new one."""
        self._handle = None
        self._passed_at = -math.inf

    @classmethod
    def in_notebook(cls, console: Console) -> NotebookLine | None:
        """A line for ``console`` in a Jupyter notebook; None elsewhere, or without IPython."""
        if not console.is_jupyter or console.quiet:  # (rich's quiet: print nothing)
            return None
        try:
            from IPython.display import display
        except ImportError:
            return None
        return cls(display)


class TrainProgress:
    """A rich progress bar: epoch, step, loss, accuracy, images/s, ETA.

    With ``quiet``, or when the console is no terminal (a log file, a pipe: a bar there
    is one last frame of it, nothing to follow; a Jupyter notebook with ipywidgets does
    show the bar: :func:`~cnnlab.progress.shows_live`), it prints one plain log line per
    epoch; in a notebook without ipywidgets that line shows the epoch's steps as they
    go (:class:`NotebookLine`). ``console=False``, or ``silent``: nothing.
    """

    def __init__(self, total_epochs: int, steps_per_epoch: int, quiet: bool = False,
                 console: Console | bool | None = None, silent: bool = False,
                 accum_steps: int = 1):
        if console is False:  # train(console=False): nothing at all
            console, silent = None, True
        self.console = console or Console(stderr=True, soft_wrap=True)
        live = shows_live(self.console)
        self.quiet = quiet or silent or not live
        self.silent = silent  # other DDP ranks: rank 0 alone reports
        self.steps_per_epoch = steps_per_epoch  # batches: the bar counts them
        self.accum_steps = accum_steps  # batches an optimizer step sums
        self.total_epochs = total_epochs
        self.progress = None
        # Not for quiet=True (asked for one line an epoch) nor other ranks
        self.line = (NotebookLine.in_notebook(self.console)
                     if not (quiet or silent or live) else None)
        self.epoch = 0
        if not self.quiet:
            self.progress = Progress(*bar_columns(self.console.width, total_epochs,
                                                  steps_per_epoch),
                                     console=self.console, transient=False)
            self.task = None

    @property
    def shows_steps(self) -> bool:
        """Whether :meth:`update` shows anything (not with ``quiet``, nor on other ranks)."""
        return self.progress is not None or self.line is not None

    def __enter__(self):
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        stopped = exc[1]
        if getattr(stopped, "step_in_epoch", None) is not None:  # TrainingInterrupted:
            # the bar where the steps stopped, not at its last update (in a notebook, often
            # "0/47" of an epoch cut at step 30, as if it had never started)
            self.stopped_at(stopped.epoch, stopped.step_in_epoch)
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def stopped_at(self, epoch: int, step_in_epoch: int) -> None:
        if self.line is not None:
            self.line.show(f"epoch {epoch}/{self.total_epochs}  {step_in_epoch:,}/"
                           f"{self.steps_per_epoch:,}  stopped here")
        elif self.progress is not None and self.task is not None and epoch == self.epoch:
            # (stopped before ``epoch`` began, in the last one's evaluation: the bar is that
            # epoch's, finished, and stays as it ended)
            self.progress.update(self.task, completed=step_in_epoch)

    def start_epoch(self, epoch: int, completed: int = 0) -> None:
        self.epoch = epoch
        if self.line is not None:  # at once: the cell is seen to have started
            self.line.show(f"epoch {epoch}/{self.total_epochs}  "
                           f"{completed:,}/{self.steps_per_epoch:,}")
        if self.progress is None:
            return
        # Nothing measured yet (the first update comes after log_every steps): a dash,
        # not "nan", which reads as a diverged run.
        fields = dict(epoch=epoch, epochs=self.total_epochs, loss="-", acc="-", ips="-")
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task("train", total=self.steps_per_epoch,
                                           completed=completed, **fields)

    def update(self, step_in_epoch: int, loss: float, acc: float, ips: float) -> None:
        if self.line is not None:  # the terminal bar's fields, as text
            self.line.show(f"epoch {self.epoch}/{self.total_epochs}  {step_in_epoch:,}/"
                           f"{self.steps_per_epoch:,}  loss {loss:.4f}  acc {acc:.3f}  "
                           f"{ips:,.0f} img/s", passing=True)
        if self.progress is not None:
            self.progress.update(self.task, completed=step_in_epoch, loss=f"{loss:.4f}",
                                 acc=f"{acc:.3f}", ips=f"{ips:,.0f}")

    def end_epoch(self, row: dict, steps_done: int | None = None) -> None:
        """``steps_done``: the batches where the epoch ended, when short of its end (a
        time budget)."""
        test = (f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}"
                if not math.isnan(row["test_acc"]) else "test: not evaluated")
        steps_done = self.steps_per_epoch if steps_done is None else steps_done
        # Said in optimizer steps, as the result table, summary.json's cut_epoch and the
        # report count them: with --accum-steps 2 this line said "step 12 of 60" where
        # they said "step 6 of 30".
        stepped, of = steps_done // self.accum_steps, -(-self.steps_per_epoch // self.accum_steps)
        partial = (f" (stopped at step {stepped:,} of {of:,})"
                   if steps_done < self.steps_per_epoch else "")
        # The epoch's time as the run report and `cnnlab compare` write a duration: a
        # ResNet epoch on a CPU read "2712.4 s" here and "45.2 min" there.
        line = (
            f"epoch {row['epoch']}/{self.total_epochs}{partial}  train loss "
            f"{row['train_loss']:.4f} acc {row['train_acc']:.4f}  {test}  "
            f"{row['images_per_s']:,.0f} img/s  {seconds_text(row['epoch_time_s'])}"
        )
        if self.silent:
            return
        if self.line is not None:
            self.line.show(line)  # the steps' line becomes the epoch's
            self.line.end()
        elif self.progress is not None:
            self.progress.update(self.task, completed=steps_done)
            self.progress.console.print(line)
        else:
            self.console.print(line, highlight=False)
