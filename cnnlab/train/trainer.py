"""The training loop.

One ``Trainer`` owns one run: it builds the model and the device-resident loaders,
steps, evaluates after every ``eval_every``-th epoch and the last, logs, and checkpoints
into the run directory. The step never waits for the device except every ``log_every``
steps (progress bar and NaN check), at the end of an epoch (where the weights and the
test loss are checked for NaN/inf too: divergence.py), and under DDP where the ranks
agree whether to stop (StopPoints): losses and correct counts are summed on the device.

A step, in reading order: ``fit`` runs epochs; ``_train_epoch`` runs an epoch's batches,
each one ``_train_batch`` (forward, loss, backward; where gradient accumulation ends,
``_optimizer_step``: clipping, the step, the schedule, Lookahead, the EMA) then
``_after_step`` (a log point's bar and NaN check; a signal, the time budget); and
``_end_epoch`` evaluates, writes the row and checkpoints. Kept apart: the sums and the
row (epoch_record), which weights are evaluated and the result (evaluated_weights),
checkpoints and resuming (resumable), when a run has diverged (divergence).
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from cnnlab.data.dataset import DatasetSplits
from cnnlab.data.loader import DeviceLoader, mix_seed
from cnnlab.interrupts import hear_stop_signals
from cnnlab.train.config import CUDA_GRAPH_MODES, TrainConfig
from cnnlab.train.device import (
    autocast_context,
    resolve_amp,
    select_device,
    sum_dtype,
    synchronize,
    use_deterministic_kernels,
)
from cnnlab.train.distributed import (
    DistInfo,
    StopPoints,
    data_parallel,
    gradient_share,
    init_distributed,
    one_image_batch_error,
    rank_rng_states,
    real_rows,
    share_rank0_buffers,
)
from cnnlab.train.divergence import DivergenceChecks
from cnnlab.train.epoch_record import RunningSums, epoch_row, no_partial_epoch
from cnnlab.train.evaluate import (
    Preprocess,
    channel_stats,
    check_tta_shift,
    evaluate,
)
from cnnlab.train.evaluated_weights import EvaluatedWeights
from cnnlab.train.lr_plan import warn_of_a_warmup_without_room
from cnnlab.train.machine import command_entry
from cnnlab.train.model_setup import adapt_stem, build_model, training_loss, weights_loaded
from cnnlab.train.optim import Lookahead, WeightEMA, build_optimizer, build_scheduler
from cnnlab.train.outcome import TrainResult
from cnnlab.train.presets import check_preset, set_by_preset
from cnnlab.train.resumable import Resumable
from cnnlab.train.run_data import (
    check_data,
    evaluation_share,
    make_loader,
    split_fingerprints,
    training_subset,
)
from cnnlab.train.runlog import MetricsLog
from cnnlab.train.train_progress import TrainProgress

_DROPOUT_STREAM = 0x64726F70  # "drop": the ranks' dropout seeds, apart from the loader's


class Trainer(Resumable, DivergenceChecks, EvaluatedWeights):
    """One run's training loop, for code that needs its parts; ``train()`` is the usual
    way in (and writes the report besides; ``train_with_trainer`` returns both).

    ``Trainer(cfg, data, run_dir=None, console=None)`` builds the model (``model``;
    ``eval_model``: the EMA's or Lookahead's weights), optimizer, schedule and loaders,
    seeds torch's global RNG with ``cfg.seed``, and sets torch's threads, deterministic
    algorithms and cuDNN autotuning from ``cfg`` for the process (``train()`` and
    ``resume()`` put those back). ``fit()`` trains the remaining epochs, writing metrics
    and checkpoints into ``run_dir`` (None: nothing), and returns the TrainResult;
    ``load_resume_state(path)`` first restores a ``last`` checkpoint, to continue a run.
    """

    def __init__(self, cfg: TrainConfig, data: DatasetSplits,
                 run_dir: str | os.PathLike[str] | None = None, console=None):
        self.cfg = cfg.validate()
        check_preset(self.cfg)  # named but never applied: the run would mislabel itself
        self.run_dir = Path(run_dir) if run_dir else None
        self.console = console
        self.device = select_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device.type, self.run_dir)
        self.data = training_subset(data, cfg.train_subset, warn=self.dist.is_main)  # all seen
        if self.dist.enabled and self.device.type == "cuda":
            if self.device.index is not None and self.dist.is_main:  # cuda:K given
                from cnnlab.notices import SetupWarning, warn_user

                warn_user(f"--device {cfg.device} under torchrun: each process uses the "
                          "GPU of its local rank (cuda:LOCAL_RANK), whatever K is; choose "
                          "the GPUs with CUDA_VISIBLE_DEVICES", SetupWarning)
            self.device = torch.device("cuda", self.dist.local_rank)
        self.amp = resolve_amp(cfg.amp, self.device)
        self.channels_last = (cfg.channels_last if cfg.channels_last is not None
                              else self.device.type == "cuda")
        self.writes = self.run_dir is not None and self.dist.is_main
        self._stop_signal: str | None = None
        self._setup()

    # --- construction ---------------------------------------------------------
    def _setup(self) -> None:
        cfg, data = self.cfg, self.data
        torch.manual_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic:
            use_deterministic_kernels(self.device)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # autotune conv algorithms per shape
        self.classes = list(data.classes)
        check_data(cfg, data, self.dist.world_size)
        self.data_fingerprint = {s: split_fingerprints(getattr(data, s)) for s in ("train", "test")}
        channels, height = data.train.images.shape[1], data.train.images.shape[2]
        image_size = cfg.resize or height
        mean, std = (channel_stats(data.train.images, self.device) if cfg.normalize
                     else (None, None))
        self.preprocess = Preprocess(channels, image_size, mean, std, self.channels_last)
        check_tta_shift(cfg.tta_shift, image_size)
        self.model = build_model(cfg, len(self.classes), channels, image_size).to(self.device)
        self.weights_loaded = weights_loaded(self.model, self.dist.is_main and self.console)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        adapt_stem(self.model, cfg, self.channels_last, data.train,
                   lambda images, labels: self._loader(images, labels, train=False))
        self.train_loader = self._loader(data.train.images, data.train.labels, train=True)
        test_images, test_labels, self.eval_images = evaluation_share(
            data.test, cfg.eval_subset, self.dist)
        self.test_loader = self._loader(test_images, test_labels, train=False)
        self.stop_points = StopPoints(self.dist, self.device, cfg.log_every)
        self.steps_per_epoch = len(self.train_loader)
        self.optimizer = build_optimizer(self.model, cfg)
        steps = self.optimizer_steps_per_epoch
        self.scheduler = build_scheduler(self.optimizer, cfg, steps)
        # In steps, where rounding can make it the whole run; a preset's warm-up is its
        # choice (the fast preset's 0.3 epochs fill a quick run of a few batches), not said.
        if self.dist.is_main and not set_by_preset(cfg, "warmup_epochs"):
            warn_of_a_warmup_without_room(cfg.warmup_epochs, cfg.epochs, cfg.schedule, steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == "fp16")
        self._scheduler_stepped = False  # in this session (see _optimizer_step)
        self.lookahead = (Lookahead(self.optimizer, cfg.lookahead_steps, cfg.lookahead_alpha)
                          if cfg.lookahead_steps else None)
        self.ema = WeightEMA(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        # Evaluated apart from the live weights: the EMA's, or where Lookahead's next sync
        # would put them.
        self.eval_model = copy.deepcopy(self.model) if self.ema or self.lookahead else None
        self.train_model: nn.Module = self.model
        self.ddp_model: nn.parallel.DistributedDataParallel | None = None
        if self.dist.enabled:
            self.ddp_model = data_parallel(self.model, self.device)  # a lost rank said
            self.train_model = self.ddp_model
            # Built alike from one seed, the ranks now draw their own dropout masks (the
            # global generator's use in training; the loader has its own generators).
            torch.manual_seed(mix_seed(cfg.seed, self.dist.rank, _DROPOUT_STREAM))
        self.other_ranks_rng: dict[str, torch.Tensor] = {}  # for the next "last" checkpoint
        # CUDA graphs replay recorded memory: each step must be marked as a new one.
        self.cuda_graphs = cfg.compile and cfg.compile_mode in CUDA_GRAPH_MODES
        if cfg.compile:
            self.train_model = torch.compile(self.train_model, mode=cfg.compile_mode)
        self.epoch = 0  # epochs completed
        self.step_in_epoch = 0  # steps of the current epoch already done (mid-epoch resume)
        self.partial = no_partial_epoch()  # sums a resumed partial epoch carries over
        self.best_test_acc = -1.0  # none yet (checkpoints keep it; a result says NaN)
        # Every command that trained this run, first to last (a resume adds itself to
        # the checkpoint's list): how the run began survives any number of resumes.
        self.commands = [command_entry()]
        self.last_lr = self._scheduled_lr()
        self.train_time = self.wall_time = 0.0
        self.loop_started: float | None = None  # perf_counter() as fit()'s epochs begin

    def _loader(self, images, labels, train: bool) -> DeviceLoader:
        return make_loader(self.cfg, self.preprocess, images, labels, train, self.device,
                           self.dist)

    # --- signals ----------------------------------------------------------------
    def _on_signal(self, signum, _frame) -> None:
        self._stop_signal = signal.Signals(signum).name

    @property
    def stop_signal(self) -> str | None:
        """SIGINT or SIGTERM, if one came while the loop listened (one after the last log
        point, during the final evaluation, say, ends no step: the run finishes)."""
        return self._stop_signal

    def _install_signal_handlers(self):
        return hear_stop_signals(self._on_signal)  # Windows' Ctrl-Break too, as SIGTERM

    # --- the loop ---------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train the remaining epochs (all of them, or a resume's rest), evaluating and
        checkpointing as the config says; the TrainResult. Raises TrainingInterrupted on
        Ctrl-C/SIGTERM (checkpoint saved) and TrainingDiverged on NaN/inf."""
        cfg = self.cfg
        # Listening first: opening the log (TensorBoard's import) takes a moment, and Ctrl-C
        # then left a run folder holding only config.yaml, not resumable.
        previous = self._install_signal_handlers()
        log = stopped = result = None
        try:
            # A resume replaces the rows past its checkpoint, and the evaluation a budget
            # stop made off the schedule (Resumable): TensorBoard drops their events too.
            purge = (self.evaluated_off_schedule or self.epoch + 1
                     if self.resumed_from is not None else None)
            log = MetricsLog(self.run_dir, purge_step=purge) if self.writes else None
            self._undo_stop_evaluation(log)
            history = list(log.rows) if log is not None else []
            self.metrics_log = log  # each epoch's row goes in before its checkpoint
            with TrainProgress(cfg.epochs, self.steps_per_epoch, cfg.quiet, self.console,
                               silent=not self.dist.is_main,
                               accum_steps=cfg.accum_steps) as bar:
                self.loop_started = time.perf_counter()  # set-up, to a clock: ends here
                while self.epoch < cfg.epochs and stopped is None:
                    # A rank killed, or a full disk: what is kept, and how to go on
                    with self._rank_loss_said(), self._disk_full_said():
                        row, stopped = self._train_epoch(bar)
                    history.append(row)
                    bar.end_epoch(row, self.step_in_epoch or self.steps_per_epoch)
            result = self._finish(history, stopped)
        finally:
            # Closed while still listening: closing TensorBoard takes a moment, and a SIGTERM
            # then, under the default handler, ended the process before its report.
            if log is not None:
                log.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return result

    def _train_epoch(self, bar: TrainProgress) -> tuple[dict, str | None]:
        """Train one epoch (or the rest of one a resume starts inside) and end it: its
        metrics row, and "max_time" where the time budget stopped it (else None)."""
        cfg = self.cfg
        epoch = self.epoch + 1
        resumed_at, stopped = self.step_in_epoch, None
        self._stop_if_signalled()  # heard since the last step: no step more
        # Batch b of epoch e depends only on (seed, e, b): a mid-epoch resume replays
        # the rest of the epoch exactly as the uninterrupted run would have.
        self.train_loader.set_epoch(epoch, start_batch=resumed_at)
        self.train_model.train()
        sums = RunningSums(self.device, sum_dtype(self.device))
        bar.start_epoch(epoch, completed=resumed_at)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        start = time.perf_counter()
        train_time_before = self.train_time
        step = -1
        for step, (x, y) in enumerate(self.train_loader, start=resumed_at):
            last_of_epoch = step + 1 == self.steps_per_epoch
            # Gradients of accum_steps batches add up to one optimizer step
            stepped = (step + 1) % cfg.accum_steps == 0 or last_of_epoch
            self._train_batch(x, y, step, stepped, sums)
            self.step_in_epoch = step + 1
            elapsed = time.perf_counter() - start
            self.train_time = train_time_before + elapsed
            if self._after_step(bar, epoch, step, stepped, sums, elapsed):
                stopped = "max_time"
                break
        if not self.dist.enabled:  # the ranks' last agreement has looked (StopPoints)
            self._check_finite(sums.loss_sum, epoch, step)
        synchronize(self.device)  # the epoch's time counts work done, not work queued
        epoch_time = time.perf_counter() - start
        self.train_time = train_time_before + epoch_time  # the queued work's end included
        return self._end_epoch(epoch, sums, epoch_time, stopped), stopped

    def _train_batch(self, x: torch.Tensor, y: torch.Tensor, step: int, stepped: bool,
                     sums: RunningSums) -> None:
        """Batch ``step`` of the epoch: forward, loss, backward (its gradients added to
        the step's), the optimizer step where ``stepped``, and its loss into ``sums``."""
        cfg = self.cfg
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()
        # The batches this step sums: accum_steps, fewer in a short last one of the epoch
        in_step = min(cfg.accum_steps, self.steps_per_epoch - step + step % cfg.accum_steps)
        # DDP: the mean loss of this rank's real images (no padding repeat), as their share
        own, total = self.train_loader.real_samples(step)
        share = gradient_share(own, total, self.dist.world_size)
        # Under DDP, a batch whose gradients only accumulate skips the all-reduce
        # (the step's last batch reduces the sum); no_sync covers forward and backward.
        with self._gradient_sync(stepped):
            with autocast_context(self.device, self.amp):
                logits, loss = self._forward_loss(x, y[:max(own, 1)])
            # Divided by the step's batches: their summed gradients are then a mean, not a
            # sum that would scale the learning rate with accum_steps.
            accumulated = loss * share if share != 1 else loss
            accumulated = accumulated / in_step if in_step > 1 else accumulated
            self.scaler.scale(accumulated).backward()
        if stepped:
            self._optimizer_step()
        sums.add(loss, logits, y, own)

    def _after_step(self, bar: TrainProgress, epoch: int, step: int, stepped: bool,
                    sums: RunningSums, elapsed: float) -> bool:
        """After batch ``step``: at a log point, the NaN check and the progress bar; then
        whether to stop (StopPoints: under DDP the ranks agree where). Divergence raises
        TrainingDiverged, a signal saves and raises TrainingInterrupted; True: out of the
        time budget, the epoch ends here."""
        cfg = self.cfg
        last_of_epoch = step + 1 == self.steps_per_epoch
        if (step + 1) % cfg.log_every == 0 or last_of_epoch:
            if not self.dist.enabled:  # the ranks agree on it instead (StopPoints)
                self._check_finite(sums.loss_sum, epoch, step)
            if bar.shows_steps:  # three more device reads, for the bar alone
                loss, acc = sums.means()
                bar.update(step + 1, loss, acc,
                           float(sums.seen) * self.dist.world_size / max(elapsed, 1e-9))
        stop = self.stop_points.check(  # see StopPoints
            stepped, last_of_epoch, self._stop_signal is not None,
            cfg.max_time is not None and self.train_time >= cfg.max_time, sums.loss_sum)
        if stop.diverged:
            raise self._divergence(epoch, step)
        if stop.signal:
            self._save_interrupted(sums.loss_sum, sums.correct, sums.seen, elapsed)
        return stop.out_of_time

    def _end_epoch(self, epoch: int, sums: RunningSums, epoch_time: float,
                   stopped: str | None) -> dict:
        """All ranks' sums, the evaluation (when eval_every says, or the run stops), the
        divergence checks, the row and the checkpoints: the epoch's metrics row."""
        totals = sums.totals(self.partial, self.dist)  # a resumed partial epoch's added
        epoch_time += self.partial["time"]
        self.partial = no_partial_epoch()
        share_rank0_buffers(self.model, self.dist)
        scheduled = epoch % self.cfg.eval_every == 0 or epoch == self.cfg.epochs
        evaluates = scheduled or stopped is not None  # a budget's stop: the run as it stands
        ev, eval_time = self._timed_evaluation() if evaluates else (None, 0.0)
        self._check_epoch_end(epoch, ev)  # before its row and checkpoints are written
        self.wall_time += epoch_time + eval_time
        row = epoch_row(epoch, totals, ev, lr=self.last_lr, epoch_time=epoch_time,
                        eval_time=eval_time, train_time=self.train_time,
                        wall_time=self.wall_time, device=self.device)
        cut = stopped == "max_time" and self.step_in_epoch < self.steps_per_epoch
        if cut:
            # Out of time mid-epoch: the row reports the run as it stands, but the
            # checkpoint keeps the epoch open, so a resume with a larger budget trains
            # the rest of it (and replaces this row) instead of skipping it.
            loss_total, correct_total, seen_total = totals
            self.partial = {"loss_sum": loss_total, "correct": correct_total,
                            "seen": seen_total, "time": epoch_time}
            self.wall_time -= epoch_time  # counted again, from partial, when it completes
        else:
            self.epoch, self.step_in_epoch = epoch, 0
        improved = ev is not None and ev.acc > self.best_test_acc
        if stopped is not None:  # an evaluation a run never stopped may not have made
            self._note_stop_evaluation(epoch, improved, cut, scheduled)
        if improved:
            self.best_test_acc = ev.acc
        # The row first, then the checkpoint: killed in between, the resume drops a row
        # its checkpoint does not reach (truncate_after); the other way round, the row of
        # a checkpointed epoch would be lost for good.
        self._log_epoch(row, ev)
        self.other_ranks_rng = rank_rng_states(self.dist)  # every rank: a collective
        if self.writes:
            if improved:
                self._save("best", eval_weights=True)
            self._save("last")
        return row

    def _timed_evaluation(self):
        """(the evaluation, its seconds): waited for, as an epoch's training is."""
        eval_start = time.perf_counter()
        ev = self.last_eval = self._evaluate()
        synchronize(self.device)
        return ev, time.perf_counter() - eval_start

    def _log_epoch(self, row: dict, ev) -> None:
        log = getattr(self, "metrics_log", None)  # None: another rank, or not writing
        if log is None:
            return
        log.append(row)
        if ev is not None:  # evaluated this epoch (eval_every)
            log.append_class_metrics(row["epoch"], self.classes, ev.per_class_acc,
                                     ev.confusion)

    def _forward_loss(self, x: torch.Tensor, y: torch.Tensor):
        # y: the labels of x's real images, fewer than x's rows where padding ends it (DDP)
        try:
            out = self.train_model(x)
        except ValueError as exc:  # torch's words named neither the cause nor the fix
            said = one_image_batch_error(exc, self.cfg.batch_size,
                                         self.train_loader.dataset_size, self.dist.world_size)
            if said is None:
                raise
            raise said from exc
        return training_loss(real_rows(out, len(y)), y, self.cfg.label_smoothing)

    def _optimizer_step(self) -> None:
        if self.cfg.clip_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad_norm)
        self.last_lr = self._scheduled_lr()
        watch_skips = self.lookahead is not None and self.scaler.is_enabled()
        scale = self.scaler.get_scale() if watch_skips else None  # a sync: fp16 only
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scaler.is_enabled() and not self._scheduler_stepped:
            # The scaler skips the first steps while it finds its scale; the schedule still
            # advances (a step of the plan), which PyTorch reports, at the scheduler's first
            # step only, as a misordered call. Muted there alone: the caller's filters stay.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler")
                self.scheduler.step()
        else:
            self.scheduler.step()
        self._scheduler_stepped = True
        # fp16 overflow: the scaler skipped the step and lowered its scale. Lookahead
        # must not count it (nor give Adam's untouched, empty state its slow weights:
        # Adam takes an empty state for a new parameter).
        skipped = watch_skips and self.scaler.get_scale() < scale
        if self.lookahead is not None and not skipped:
            self.lookahead.step()  # before zero_grad: the gradients say what was stepped
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)

    def _scheduled_lr(self) -> float:
        """metrics.csv's lr: cfg.lr scaled by the schedule at the coming step (group 0 may
        be Muon's filters at muon_lr, or a backbone at a lower lr)."""
        return self.cfg.lr * self.scheduler.get_last_lr()[0] / self.scheduler.base_lrs[0]

    def _gradient_sync(self, stepped: bool):
        if self.ddp_model is None or stepped:
            return contextlib.nullcontext()
        return self.ddp_model.no_sync()

    def _evaluate(self):
        # Which weights: EvaluatedWeights (the live ones, the EMA's or Lookahead's).
        # Kept for the "best" checkpoint: building the evaluation model again there would
        # share its BN buffers again, a collective that only the writing rank would join.
        self.evaluated_model = self._evaluation_model()
        return evaluate(self.evaluated_model, self.test_loader, len(self.classes),
                        self.device, self.amp, self.cfg.tta_flip, self.dist,
                        tta_shift=self.cfg.tta_shift, fill=self.preprocess.black_level())
