"""What a Trainer's checkpoint holds, and how a Trainer is restored from one.

``last`` holds everything an exact continuation needs: weights, optimizer, EMA, the
scheduler and gradient scaler, the epoch and step reached, the sums of a partial
epoch, the clocks, RNG states, and every command that trained the run; and what wrote
it (cnnlab's code, torch, the device): a resume by other ones says that the run goes on,
but not necessarily bit for bit (resume_checks.other_code_notice). ``best`` holds
the weights that were evaluated (the EMA when on). The file format is
:mod:`cnnlab.train.checkpoint`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from pathlib import Path

import torch

from cnnlab.atomic import DISK_FULL, atomic_write_bytes
from cnnlab.formatting import and_list
from cnnlab.models.interop import load_state_dict_checked
from cnnlab.notices import warn_user
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.distributed import (
    RankLost,
    all_reduce_sum,
    backend_words,
    lost_a_rank,
    rank_rng_states,
    restore_rank_rng_state,
)
from cnnlab.train.loaded_run import CheckpointWarning
from cnnlab.train.machine import python_resume
from cnnlab.train.outcome import TrainingInterrupted, TrainResult
from cnnlab.train.resume_checks import check_same_settings, other_code_notice, training_left
from cnnlab.train.run_files import resume_words

BEFORE_CUT = "best-before-cut"  # the best checkpoint's copy (Resumable.best_before_cut)
_SIGNALS = ("SIGINT", "SIGTERM")  # the Trainer's stop signals (Trainer._on_signal)


class Resumable:
    """The checkpoint half of :class:`cnnlab.train.trainer.Trainer`, which sets every
    attribute used here."""

    # Called once, after the first ``last`` checkpoint this session writes (or, where no
    # training is left, by result_from_files): a resume's new plan goes into config.yaml
    # only once a checkpoint trained under it exists. Written before, a resume that
    # failed first had already raised the plan: the same `resume --epochs N` added 2N.
    after_first_checkpoint = None
    resumed_from: Path | None = None  # the checkpoint load_resume_state restored
    # The best accuracy before a time budget's stop evaluated the run where it stood (mid-
    # epoch, or at the end of an epoch eval_every skips) and replaced the best checkpoint;
    # None where none did. That evaluation ends a run stopped there, but a run never
    # stopped never made it: a resume puts the earlier best back (kept as
    # checkpoints/best-before-cut.*), as the uninterrupted run has it.
    best_before_cut: float | None = None
    # What loading --weights did when the run began (model_setup.weights_loaded); kept in
    # the checkpoint, as a resume starts from it, not from the weights.
    weights_loaded: dict | None = None
    # The epoch a time budget's stop evaluated at its end, off the eval_every schedule (None:
    # none did): a resume drops that evaluation from its row (MetricsLog.forget_evaluation).
    evaluated_off_schedule: int | None = None
    # The signal that stopped the run ("SIGINT", "SIGTERM"), in the checkpoint it saved
    # (None in every other): one stopped between epochs has step 0, as a kill's has, and
    # `cnnlab compare` tells "interrupted" from "unfinished" by it.
    stopped_by: str | None = None

    def _first_checkpoint_written(self) -> None:
        if self.after_first_checkpoint is not None:
            keep, self.after_first_checkpoint = self.after_first_checkpoint, None
            keep()

    def _state(self) -> dict:
        return {
            "model_name": self.cfg.model,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "partial": self.partial,
            "best_test_acc": self.best_test_acc,
            "best_before_cut": self.best_before_cut,
            "evaluated_off_schedule": self.evaluated_off_schedule,
            "stopped_by": self.stopped_by,
            "weights_loaded": self.weights_loaded,
            "train_time": self.train_time,
            "wall_time": self.wall_time,
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema_updates": self.ema.updates if self.ema else 0,
            "classes": self.classes,
            # Each split's size and fingerprint: a resume on other images is refused.
            "data": self.data_fingerprint,
            "preprocess": self.preprocess.to_dict(),
            "config": self.cfg.to_dict(),
            "commands": self.commands,
            "last_lr": self.last_lr,
            # Batches, steps and the schedule are per process: a resume needs as many.
            "world_size": self.dist.world_size,
            # For readers of its .json copy (compare) before the run has a summary.
            "device": str(self.device),
            # What a resume compares with its own, to say when it may not be bit for bit.
            "written_by": ckpt.written_by(self.device),
            "parameters": sum(p.numel() for p in self.model.parameters()),
        }

    def _save(self, tag: str, eval_weights: bool = False) -> None:
        state = self._state()
        path = self.run_dir / "checkpoints" / f"{tag}.safetensors"
        if eval_weights:  # "best": the weights that were evaluated (the EMA when on)
            state["weights"] = "ema" if self.ema else "model"
            ckpt.save_checkpoint(path, self.evaluated_model.state_dict(), state)
        else:
            # Without an EMA, Lookahead's run is evaluated where its next sync would put
            # the weights: kept beside the live ones, so eval/predict of "last" use them.
            looked_ahead = (self.lookahead.evaluated_weights(self.model, self.eval_model)
                            .state_dict() if self.lookahead and not self.ema else None)
            ckpt.save_checkpoint(
                path, self.model.state_dict(), state, self.optimizer.state_dict(),
                self.ema.state_dict() if self.ema else None, looked_ahead,
                other_ranks_rng=self.other_ranks_rng,
            )
            self._first_checkpoint_written()
            if self.best_before_cut is None:  # no resume will want them back
                for _, kept in self._best_files():
                    kept.unlink(missing_ok=True)

    def _best_files(self) -> list[tuple[Path, Path]]:
        """(best file, its copy from before a budget's mid-epoch evaluation), per suffix."""
        folder = self.run_dir / "checkpoints"
        return [(folder / f"best{suffix}", folder / f"{BEFORE_CUT}{suffix}")
                for suffix in (".safetensors", ".json")]

    def _note_stop_evaluation(self, epoch: int, improved: bool, cut: bool,
                              scheduled: bool) -> None:
        """After a time budget's stop evaluated ``epoch`` (``cut``: mid-epoch), where the
        ``eval_every`` schedule may not have (``scheduled``): what a resume undoes."""
        if improved and (cut or not scheduled):
            self._keep_best_before_cut()
        if not (cut or scheduled):  # a cut epoch's row goes whole (truncate_after)
            self.evaluated_off_schedule = epoch

    def _undo_stop_evaluation(self, log) -> None:
        """A resume about to train on: the best checkpoint as before its stop's evaluation,
        the rows past the checkpoint dropped (a budget's partial epoch, a row a kill
        left), and an evaluation off the schedule taken out of its row (``log``: None
        where this process writes none). Each part can be done again: a kill before the
        next ``last`` checkpoint leaves it to the next resume."""
        self._put_back_best_before_cut()
        forgotten, self.evaluated_off_schedule = self.evaluated_off_schedule, None
        if log is None:
            return
        # By epoch, not by count: a row lost (damaged, dropped) made a log with the killed
        # epoch's row and class metrics look no longer than the checkpoint: logged twice.
        if self.resumed_from is not None:
            log.truncate_after(self.epoch)
            _say_lost_rows(log, self.epoch)
        if forgotten is not None:
            log.forget_evaluation(forgotten)

    def _keep_best_before_cut(self) -> None:
        """A time budget's mid-epoch evaluation is about to replace the best checkpoint:
        the best as it stands is kept (a copy; none where there was none)."""
        self.best_before_cut = self.best_test_acc
        if self.writes:
            for best, kept in self._best_files():
                _copy_or_remove(best, kept)

    def _put_back_best_before_cut(self) -> None:
        """A resume about to train a budget-cut epoch again: the best checkpoint and
        accuracy as they stood before the cut's evaluation. Copied, not moved, so a kill
        halfway leaves a resume that does it again; the copies go once a later ``last``
        checkpoint no longer needs them (:meth:`_save`)."""
        if self.best_before_cut is None:
            return
        self.best_test_acc = self.best_before_cut
        if self.writes:
            for best, kept in self._best_files():
                _copy_or_remove(kept, best)
        self.best_before_cut = None

    def _stop_if_signalled(self) -> None:
        """Before an epoch's first step (or the step a resume starts at): a signal heard
        since the last step (while an epoch was evaluated and checkpointed, or as the run
        began) stops the run here, saving it as it stands, rather than after one more step
        the user asked not to train. One process only: ranks under DDP stop together, at
        a step they agree on (StopPoints)."""
        if self._stop_signal is not None and not self.dist.enabled:
            nothing = torch.zeros((), dtype=torch.float64)  # no step of this epoch summed
            self._save_interrupted(nothing, nothing, nothing, 0.0)

    def _save_interrupted(self, loss_sum, correct, seen, elapsed: float) -> None:
        """Save the ``last`` checkpoint mid-epoch, then raise TrainingInterrupted."""
        # Every rank is here (they agreed to stop), so the checkpoint, written by rank 0,
        # can hold all ranks' sums. Added to what an earlier interruption of this same
        # epoch carried over. With them, how many ranks each signal came to: a rank that
        # met none can name the one that stopped the run (and exit with its status).
        own = self._stop_signal
        flags = [loss_sum.new_tensor(float(own == name)) for name in _SIGNALS]
        sums = all_reduce_sum(torch.stack([loss_sum, correct, seen, *flags]), self.dist)
        loss_sum, correct, seen, *counts = sums.tolist()
        came = dict(zip(_SIGNALS, counts, strict=True))
        # SIGTERM where both came: a scheduler ending the job, not one user's key.
        others = "SIGTERM" if came["SIGTERM"] else "SIGINT" if came["SIGINT"] else None
        stopped_by = own or others
        carried = self.partial
        self.partial = {
            "loss_sum": carried["loss_sum"] + loss_sum,
            "correct": carried["correct"] + correct,
            "seen": carried["seen"] + seen,
            "time": carried["time"] + elapsed,
        }
        self.other_ranks_rng = rank_rng_states(self.dist)  # every rank: a collective
        self.stopped_by = stopped_by
        if self.writes:
            self._save("last")
        whose = own or f"{others or 'a signal'} on another rank"
        where = (f"at epoch {self.epoch + 1}, {self._step_of_epoch()}" if self.step_in_epoch
                 else f"before epoch {self.epoch + 1}'s first step")
        how = self._resume_words() if self.run_dir else ""  # no folder: nothing to resume
        from_python = python_resume(self.run_dir) if self.run_dir else None  # not the CLI's
        if from_python and from_python in how:  # a run of data given to train(): said
            from_python = None
        raise TrainingInterrupted(
            f"stopped by {whose} {where}; "
            + (f"checkpoint saved. Resume with: {how}" if self.run_dir else
               "nothing saved (write_run_dir=False: no run folder, nothing to resume)"),
            run_dir=self.run_dir, signal_name=stopped_by, epoch=self.epoch + 1,
            step_in_epoch=self.step_in_epoch, way_on=from_python,
        )

    def _resume_words(self) -> str:
        """How to go on with this run, for its stop messages: the command (torchrun's for
        several processes), or from Python, with its data, for a run of data given to
        train(), which the command cannot continue."""
        return resume_words(self.run_dir, self.dist.world_size, backticks=False)

    def _step_of_epoch(self) -> str:
        """"step 6 of 30": where in its epoch training is, in optimizer steps, as the
        result table, summary.json and the report count them (``step_in_epoch`` and
        ``steps_per_epoch`` count batches: with --accum-steps 2 this said step 12 of 60)."""
        return (f"step {self.step_in_epoch // self.cfg.accum_steps:,} of "
                f"{self.optimizer_steps_per_epoch:,}")

    @property
    def optimizer_steps_per_epoch(self) -> int:
        """An epoch's optimizer steps: its batches, ``accum_steps`` to a step (a last
        shorter group steps too). The one count the schedule, the stop messages, the
        summary and the report use."""
        return -(-self.steps_per_epoch // self.cfg.accum_steps)

    @contextlib.contextmanager
    def _rank_loss_said(self):
        """A collective broken by a rank that died (kill -9, out of memory) ends the run
        with RankLost, saying what is kept and how to go on: gloo's RuntimeError named
        neither the run nor its checkpoint. The checkpoint is the last one written (an
        epoch's end, or the stop a resume began from): rank 0 writes it whole or not at all.
        An epoch's end counts the epoch done before the ranks' last collective of it and
        before its checkpoint: a rank lost in between leaves the checkpoint before, if any
        (it said that the run's first, never written, stayed)."""
        started = self.epoch  # epochs done, and checkpointed, as this block began
        try:
            yield
        except RuntimeError as exc:
            if not (self.dist.enabled and lost_a_rank(exc)):
                raise
            ended = self.epoch > started  # counted done, its checkpoint not written
            where = (f"as epoch {self.epoch} ended, before its checkpoint" if ended else
                     f"after {self._step_of_epoch()} in epoch {self.epoch + 1}")
            raise RankLost(
                f"another process of this torchrun job ended (killed, or failed: its own "
                f"output says why) {where}, and the others cannot train without it "
                f"({backend_words(exc)}). {self._kept_words(started, ended)}") from exc

    @contextlib.contextmanager
    def _disk_full_said(self):
        """A disk that fills while an epoch's row, class metrics or checkpoint are written
        ends the run with an OSError naming the file, what is kept and how to go on: the
        bare "[Errno 28] No space left on device" said none of them, and the run looked
        lost (a checkpoint is written whole or not at all; a row cut short is dropped)."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in DISK_FULL or not self.run_dir:
                raise
            last = self.run_dir / "checkpoints" / "last.safetensors"
            if last.is_file():  # the one before this epoch's, or this epoch's
                kept = (f"its last checkpoint stays whole ({last}): free some space on "
                        f"that disk, then continue with: {self._resume_words()}")
            else:
                kept = ("no checkpoint had been written yet, so there is nothing to resume: "
                        "free some space on that disk and start the run again")
            why = (exc.strerror or "disk full").lower()
            raise OSError(exc.errno, f"{exc.filename or self.run_dir} could not be written "
                                     f"({why}), so training stopped; {kept}") from exc

    def _kept_words(self, started: int, ended: bool) -> str:
        """What a run ended by a lost rank keeps, ``started`` epochs checkpointed (or the
        checkpoint a resume began from), and how to go on."""
        if not self.run_dir:
            return ""
        last = self.run_dir / "checkpoints" / "last.safetensors"
        if started > 0 or self.resumed_from is not None:
            kept = (f"Epoch {self.epoch}'s checkpoint was not written; the last one stays"
                    if ended else "Its last checkpoint stays")
            return f"{kept} ({last}). Resume with: {self._resume_words()}"
        if ended:
            return (f"Epoch {self.epoch}'s checkpoint, the run's first, was not written: "
                    "there is no checkpoint to resume from; start the run again.")
        return "No epoch had finished: no checkpoint was written; start the run again."

    def load_resume_state(self, path: Path) -> None:
        """Restore everything from the ``last`` checkpoint at ``path``, for an exact
        continuation."""
        groups, state = ckpt.load_checkpoint(path)
        self.resumed_from = Path(path)
        ckpt.require_state(state, ("optimizer", "scheduler", "scaler", "epoch",
                                   "step_in_epoch", "partial", "best_test_acc",
                                   "train_time"), path)
        if state.get("model_name") != self.cfg.model:
            raise ckpt.CheckpointError(
                f"{path} was saved from {state.get('model_name')!r}, but config.yaml says "
                f"{self.cfg.model!r}: config.yaml was edited (set model: back to "
                f"{state.get('model_name')}) or the file was copied from another run")
        check_same_settings(self.cfg, state, path, str(self.run_dir / "config.yaml")
                            if self.run_dir else "the config given")
        load_state_dict_checked(self.model, groups["model"], source=str(path))
        try:  # torch's own messages name neither the file nor what to do
            opt_state = ckpt.join_optimizer_state(groups["optim"], state["optimizer"])
            self.optimizer.load_state_dict(opt_state)
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ckpt.CheckpointError(
                f"{path}: its optimizer, schedule or scaler state cannot be restored "
                f"({type(exc).__name__}: {exc}); a damaged or hand-made checkpoint, or "
                "one of a run with other training settings") from None
        if self.ema is not None and groups["ema"]:
            self.ema.load_state_dict(groups["ema"], state["ema_updates"])
        self.epoch = state["epoch"]
        self.step_in_epoch = state["step_in_epoch"]
        self.partial = state["partial"]
        self.best_test_acc = state["best_test_acc"]
        before_cut = state.get("best_before_cut")
        self.best_before_cut = float(before_cut) if isinstance(
            before_cut, (int, float)) and not isinstance(before_cut, bool) else None
        loaded = state.get("weights_loaded")
        self.weights_loaded = loaded if isinstance(loaded, dict) else None
        off = state.get("evaluated_off_schedule")
        # Its epoch's row, or none: a checkpoint from before it was kept, or hand-made.
        self.evaluated_off_schedule = off if type(off) is int and off == self.epoch else None
        self._normalise_as_before(state.get("preprocess"))
        self.train_time = state["train_time"]
        self.wall_time = state.get("wall_time", self.train_time)
        self.commands = [*state.get("commands", []), *self.commands]
        self.last_lr = state.get("last_lr", self.last_lr)
        try:
            ckpt.restore_rng_state(groups["rng"])
            restore_rank_rng_state(groups["rng"], self.dist)
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:  # was a bare KeyError
            raise ckpt.CheckpointError(
                f"{path}: its random generators' state cannot be restored "
                f"({type(exc).__name__}: {exc}); a damaged or hand-made checkpoint") from None
        # Said once (by rank 0), and only where something will be trained from here.
        if self.dist.is_main and training_left(self.cfg, state):
            notice = other_code_notice(path, state.get("written_by"),
                                       ckpt.written_by(self.device))
            if notice:
                warn_user(notice, CheckpointWarning)

    def _normalise_as_before(self, stored) -> None:
        """Batches normalised by the mean and std the run began with, as its checkpoint
        holds them, not as computed again now: the same data gives the same statistics
        today, exactly, but a run checkpointed before they were exact (2026-12-06: float
        sums, which a thread count rounded otherwise) went on normalising otherwise."""
        if not isinstance(stored, dict) or self.preprocess.mean is None:
            return
        mean, std = stored.get("mean"), stored.get("std")
        if ((mean, std) == (self.preprocess.mean, self.preprocess.std) or not (
                isinstance(mean, list) and isinstance(std, list)
                and len(mean) == len(std) == self.preprocess.channels)):
            return
        self.preprocess = dataclasses.replace(self.preprocess, mean=mean, std=std)
        for loader in (self.train_loader, self.test_loader):
            loader.set_normalisation(mean, std)

    def result_from_files(self) -> TrainResult:
        """The result of a run that has trained all it will (every planned epoch, or its
        time budget), restored from its last checkpoint and rebuilt from its files: its
        metrics.csv as the history, class_metrics.jsonl's last evaluation (per-class
        accuracy, confusion matrix). For a run killed after its last checkpoint, while
        its summary and report were written, which no resume can train again."""
        from cnnlab.train.evaluate import EvalResult
        from cnnlab.train.report_evaluation import last_class_metrics
        from cnnlab.train.runlog import MetricsLog

        self._first_checkpoint_written()  # none will be: a resume's new plan is kept now

        history = MetricsLog.read(self.run_dir / "metrics.csv")
        last = last_class_metrics(self.run_dir, history, len(self.classes))
        if last is not None:
            row, record = last
            self.last_eval = EvalResult(
                row["test_loss"], row["test_acc"],
                [record["per_class_acc"].get(name, float("nan")) for name in self.classes],
                record["confusion"], self.eval_images)
        # Trained all it will: every planned epoch, or out of time at a step (the loop's
        # test), which may have been the plan's last.
        budget = self.cfg.max_time
        out_of_time = budget is not None and self.train_time >= budget
        return self._finish(history, "max_time" if out_of_time else None)


def _copy_or_remove(source: Path, target: Path) -> None:
    """``target`` made a copy of ``source`` (atomically), or removed where it has none."""
    if source.exists():
        atomic_write_bytes(target, lambda tmp: shutil.copyfile(source, tmp))
    else:
        target.unlink(missing_ok=True)


def _say_lost_rows(log, epoch: int) -> None:
    """Say which of the ``epoch`` epochs a resume's checkpoint trained have no row in
    ``log`` (a MetricsLog): its metrics.csv cut short, emptied or removed by hand, which a
    kill never does (the row is written before its checkpoint). The resume wrote the
    following rows after the gap without a word, and the history began there."""
    logged = {row["epoch"] for row in log.rows}
    lost = [e for e in range(1, epoch + 1) if e not in logged]
    if lost:
        from cnnlab.train.runlog import RunLogWarning

        which = f"epoch {lost[0]}" if len(lost) == 1 else f"epochs {and_list(list(map(str, lost)))}"
        warn_user(f"{log.path} has no row for {which}, which its checkpoint trained (the file "
                  "was cut short, emptied or edited): their numbers are lost from the run's "
                  "history, curves and report; the weights and the training go on as they "
                  "were", RunLogWarning)
