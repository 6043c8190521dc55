"""What a training run ends with: its result, or the two ways it stops early.

Kept apart from the Trainer so that callers (the CLI, the zoo, design sweeps) can name
them without the training loop; ``cnnlab.train`` re-exports all three.
"""

from __future__ import annotations

import math
import os
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

    from cnnlab.train.evaluate import Preprocess


class TrainingDiverged(RuntimeError):
    """The training loss, the weights or the test loss became NaN or infinite; the last
    good checkpoint is kept."""

    @classmethod
    def at(cls, epoch: int, step: int | None, lr: float, last: Path | None,
           written: bool, found: str = "", cli: bool = True) -> TrainingDiverged:
        """The error for a training loss found NaN/inf at ``step`` (from 0) of ``epoch``,
        or for what ``found`` says was at the epoch's end (the weights, the test loss;
        ``step`` None), in a run whose ``last`` checkpoint (None: the run writes none)
        was ``written`` or not. Its advice names the command's options (``cli``), or
        TrainConfig's fields for a run trained from Python."""
        what = found or f"the loss became NaN/inf at epoch {epoch}, step {step + 1}"
        # Before the first epoch's checkpoint there is none to keep: said so, not a
        # "last good checkpoint" that a look in the folder would not find.
        if last is None:
            kept = ""
        elif written:
            kept = f"The last good checkpoint stays ({last} is kept). "
        elif found:  # the epoch's steps were done, its checkpoint not written
            kept = "No checkpoint was written: the first would have held these weights. "
        else:
            kept = "No epoch had finished: no checkpoint was written. "
        advice = (f"Try a lower --lr (now {lr}), a (longer) warm-up (--warmup-epochs), "
                  "gradient clipping (--clip-grad-norm 1.0), or --amp off." if cli else
                  f"Try a lower lr (now {lr}), a (longer) warm-up (warmup_epochs), gradient "
                  "clipping (clip_grad_norm=1.0), or amp='off' (TrainConfig's fields).")
        return cls(f"{what}; stopping. {kept}{advice}")

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook cell) shows for it: its message, not the frames of
        cnnlab's training loop (as :meth:`TrainingInterrupted._render_traceback_`)."""
        return [f"{type(self).__name__}: {self}"]


class TrainingInterrupted(RuntimeError):
    """SIGINT/SIGTERM stopped the run; a checkpoint was saved and the run can be resumed.

    Attributes (None where not known):
        run_dir: the run's folder: ``resume(exc.run_dir)`` continues it (with
            ``data=`` the data it was given, for a run of data given to ``train()``).
            None when the run wrote no folder (``write_run_dir=False``): there is nothing
            to resume.
        signal_name: ``"SIGINT"`` or ``"SIGTERM"``.
        epoch, step_in_epoch: where training stopped: ``step_in_epoch`` batches into
            epoch ``epoch`` (counted from 1; with ``accum_steps`` N, N batches make one
            optimizer step). None when the signal came after the last epoch, while the
            report was written (the run is complete then).
        way_on: how a caller from Python goes on (``resume('RUN')``), said after the
            message; a caller that owns the run and knows better replaces it (a zoo: run
            it again). None from the command line, whose message names its command, and
            where the message names the call already (a run of data given to train()).
    """

    def __init__(self, message: str, *, run_dir: Path | None = None,
                 signal_name: str | None = None, epoch: int | None = None,
                 step_in_epoch: int | None = None, way_on: str | None = None):
        super().__init__(message)
        self.run_dir = run_dir
        self.signal_name = signal_name
        self.epoch = epoch
        self.step_in_epoch = step_in_epoch
        self.way_on = way_on

    def __str__(self) -> str:
        said = super().__str__()
        return f"{said} (from Python: {self.way_on})" if self.way_on else said

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook cell) shows for it, in place of a traceback: the
        message and how to go on from Python. A notebook's stop button is the usual way
        a run ends early, not a fault: the ten frames of cnnlab's loop it showed said
        nothing, and its message named only the command line's `cnnlab resume`."""
        lines = [f"{type(self).__name__}: {self}"]
        # Only where training stopped (not once it had ended) and not said already
        if self.way_on is None and self.run_dir is not None and self.epoch is not None:
            from cnnlab.train.run_files import python_resume_call

            call = python_resume_call(self.run_dir)  # with data=... where a run needs it
            if call not in lines[0]:
                lines.append(f"From Python: {call} continues it (resume from cnnlab.train)")
        return lines


@dataclass(repr=False)
class TrainResult:
    """What :func:`cnnlab.train.train` and ``resume`` return.

    Attributes:
        run_dir: the run's folder; None with ``write_run_dir=False``.
        history: one dict per epoch, first to last (a resumed run's earlier epochs
            included), with the keys:

            - ``epoch``: the epoch's number, from 1.
            - ``train_loss``, ``train_acc``: the mean loss and accuracy over the epoch's
              training batches, as the weights changed (with augmentation; the loss
              includes label smoothing and any auxiliary classifiers' losses).
            - ``test_loss``, ``test_acc``: plain cross-entropy and accuracy on the test
              split (its first ``eval_subset`` images, if set) with the evaluated
              weights (the EMA's, or Lookahead's, when on); NaN in an epoch that
              ``eval_every`` did not evaluate.
            - ``lr``: the learning rate of the epoch's last optimizer step.
            - ``images_per_s``: training images per second in the epoch (evaluation
              not counted).
            - ``epoch_time_s``, ``eval_time_s``: seconds the epoch trained, and
              evaluated.
            - ``elapsed_s``: training seconds since the run began (``max_time``'s clock).
            - ``wall_s``: training plus evaluation seconds since the run began.
            - ``peak_memory_mb``: peak memory in MiB (2**20 bytes, despite the name):
              the GPU's peak allocated memory in the epoch; on a CPU or MPS the
              process's peak resident memory (Windows: peak working set) since it
              began; NaN where the system does not say.
        final: ``history[-1]``, the last epoch's row (``{}`` if none); its epoch and
            test accuracy are also :attr:`epochs_done` and :attr:`test_acc`.
        best_test_acc: the highest ``test_acc`` of any epoch (the ``best`` checkpoint's);
            NaN for a run not evaluated yet (one :func:`~cnnlab.train.read_result` read
            back after a stop in its first epoch, say): summary.json has null there.
        train_time_s: training seconds in all (``elapsed_s`` of the last epoch).
        per_class_acc: class name -> accuracy, at the last evaluation.
        confusion: at the last evaluation, ``confusion[i][j]`` test images of class i
            predicted as class j.
        stopped: ``"max_time"`` when the time budget ended the run (a resume with a
            larger ``max_time`` continues it); None when it trained every epoch.
        eval_images, test_images: the test images the accuracies were measured on, and
            in the test split (fewer with ``eval_subset``; see :attr:`eval_scope`).
        preprocess: how an image becomes the model's input: scaled to [0, 1], resized
            to ``preprocess.image_size``, then normalised by its mean and std if set.
        model: the trained network, with the weights the last evaluation used: the
            EMA's when ``ema_decay`` is on, Lookahead's evaluated weights when
            ``lookahead_steps`` is on, else the live ones; so the same weights as the
            run's ``last`` checkpoint gives ``load_run(run_dir, "last")``, not the
            ``best`` one's. On the training device, in eval mode. Not a field (an
            init-only argument kept as an attribute): the repr, ``==`` and
            ``dataclasses.asdict`` leave it out.

    Wherever a run's folder is taken (``load_run``, ``evaluate_run``, ``resume``,
    ``predict_image(s)``, ``compare_runs``, ``export_run``, ``os.fspath``, ``Path``), the
    result stands for its ``run_dir``: ``evaluate_run(result)`` reads the run back from
    its folder, as ``evaluate_run(result.run_dir)`` does.
    """

    run_dir: Path | None
    history: list[dict[str, float]]
    final: dict[str, float]
    best_test_acc: float
    train_time_s: float
    per_class_acc: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    stopped: str | None = None  # "max_time" when the time budget ended the run
    # Test images the accuracies were measured on, and in the test split (eval_subset).
    eval_images: int | None = None
    test_images: int | None = None
    preprocess: Preprocess | None = None
    if TYPE_CHECKING:
        # An attribute to type checkers (as an InitVar, `result.model` was an error to
        # pyright and mypy); at run time the InitVar, so no field: see the docstring.
        model: nn.Module | None = field(default=None, repr=False, compare=False)
    else:
        model: InitVar[nn.Module | None] = None

    def __post_init__(self, model: nn.Module | None = None) -> None:
        self.model = model

    # The repr shows epochs_done= and test_acc=; both read off the result by those names too.
    @property
    def epochs_done(self) -> int:
        """Epochs trained (a resumed run's earlier ones included): ``final["epoch"]``."""
        return int(self.final.get("epoch", 0))

    @property
    def test_acc(self) -> float:
        """The last epoch's test accuracy (``final["test_acc"]``); NaN where that epoch
        was not evaluated (``eval_every``) or none finished. The best is
        :attr:`best_test_acc`."""
        return float(self.final.get("test_acc", float("nan")))

    @property
    def eval_scope(self) -> str:
        """'' when the whole test split was evaluated, else which part of it."""
        if self.eval_images is None or self.eval_images == self.test_images:
            return ""
        return f"first {self.eval_images:,} of {self.test_images:,} test images"

    def curves(self, title: str | None = None) -> Figure:
        """Loss, accuracy and learning rate per epoch as a matplotlib Figure: a notebook
        shows it (no pyplot needed); ``.savefig(path)`` writes it. ``title`` defaults to
        the run's folder name. (The run's plots/curves.png says more: how each curve was
        measured, and the planned schedule.)"""
        from cnnlab.train.report_figures import curves_figure

        if not self.history:
            raise ValueError("no epoch has finished: there is nothing to plot yet")
        default = f"run {self.run_dir.name}" if self.run_dir is not None else ""
        return curves_figure(self.history, title=default if title is None else title)

    def __fspath__(self) -> str:
        if self.run_dir is None:
            from cnnlab.train.run_files import NotARunError

            raise NotARunError(
                "this TrainResult has no run folder (trained with write_run_dir=False), so "
                "nothing can read the run back: its model is result.model; train with "
                "write_run_dir=True (the default) to load, evaluate, resume or export it")
        return os.fspath(self.run_dir)

    def __repr__(self) -> str:
        # A notebook shows this after every training cell: the numbers that say how the
        # run went, not every history row and the whole confusion matrix.
        run_dir = str(self.run_dir) if self.run_dir is not None else None
        parts = [f"run_dir={run_dir!r}", f"epochs_done={self.epochs_done}",
                 f"test_acc={self.test_acc:.4f}",
                 f"best_test_acc={self.best_test_acc:.4f}",
                 f"train_time_s={self.train_time_s:.1f}"]
        if self.stopped:
            parts.append(f"stopped={self.stopped!r}")
        if self.eval_scope:
            parts.append(f"eval_scope={self.eval_scope!r}")
        return f"TrainResult({', '.join(parts)})"


def best_accuracy(value) -> float:
    """A run's best test accuracy as a result says it, from what the trainer, a checkpoint
    or summary.json holds: NaN for a run not evaluated yet. They hold that as the
    trainer's start value, -1 (checkpoints, and summary.json files written before it said
    null), or null (summary.json now); a user was shown -1 ("-100.00%") as an accuracy."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return math.nan  # -1, None, NaN, or what no run writes


def checkpoint_when(epoch: int | None, step_in_epoch: int, epochs: int) -> str:
    """How far a run had trained when a checkpoint was written, in words ("after epoch 7
    of 10", "at step 40 of epoch 3 of 10")."""
    if epoch is None:  # a checkpoint from before cnnlab recorded it
        return "when is not recorded"
    if step_in_epoch:
        return f"at step {step_in_epoch} of epoch {epoch + 1} of {epochs}"
    return f"after epoch {epoch} of {epochs}"


def run_folder(run, taker: str) -> Path:
    """``run`` as a run folder's path, for ``taker`` (the function's name, for the
    message): a str, a Path (any ``os.PathLike``), or a :class:`TrainResult`. Anything
    else is a TypeError that says what to give (``Path(42)`` named no function)."""
    if isinstance(run, str | os.PathLike):
        return Path(os.fspath(run))  # a TrainResult without a folder says so here
    loaded = " (a loaded run: give its .run_dir)" if hasattr(run, "run_dir") else ""
    raise TypeError(f"{taker} takes a run's folder: a path (str or Path) or the TrainResult "
                    f"train() returned, not {type(run).__name__}{loaded}")
