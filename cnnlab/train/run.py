"""A run from start to report: ``train``, ``resume``, and reading a finished run back
(``load_run``, from loaded_run.py).

``Trainer`` (trainer.py) is the loop; this module owns the run directory around it:
config.yaml (and data.json, for data given to train()) before the first step,
summary.json, plots and report.html after the last.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cnnlab.atomic import first_missing_folder, remove_leftover_temp_files
from cnnlab.data import load_dataset, parse_spec
from cnnlab.data.dataset import DatasetSplits
from cnnlab.interrupts import sigterm_as_interrupt
from cnnlab.models import model_info
from cnnlab.notices import warn_user
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.device import select_device, torch_settings_kept
from cnnlab.train.distributed import (
    init_distributed,
    launched_as_main,
    launched_world_size,
)
from cnnlab.train.evaluate import Preprocess
from cnnlab.train.loaded_run import CHECKPOINTS as CHECKPOINTS
from cnnlab.train.loaded_run import CheckpointWarning
from cnnlab.train.loaded_run import LoadedRun as LoadedRun
from cnnlab.train.loaded_run import check_which as check_which
from cnnlab.train.loaded_run import load_run as load_run
from cnnlab.train.model_setup import warn_of_a_small_input
from cnnlab.train.optim import lr_factor, warmup_step_count, warn_of_an_ema_decay_out_of_reach
from cnnlab.train.outcome import best_accuracy, run_folder
from cnnlab.train.presets import check_preset, set_by_preset
from cnnlab.train.resume_checks import RunFinished as RunFinished
from cnnlab.train.resume_checks import check_work_left, current_summary, load_plan, summary_file
from cnnlab.train.run_data import (
    DATA_RECORD,
    check_same_data,
    check_trained_on,
    train_arguments,
    warn_of_colour_read_as_grey,
    write_data_record,
)
from cnnlab.train.run_files import (
    absolute_data_paths,
    check_run_data,
    check_run_folder,
    move_data,
    no_checkpoint_words,
    start_again,
)
from cnnlab.train.run_outputs import check_output_names, write_run_outputs
from cnnlab.train.runlog import (
    MetricsLog,
    accuracies_from_json,
    new_run_dir,
    remove_unused_run_dir,
    run_lock,
    training_pid,
)
from cnnlab.train.trainer import Trainer, TrainResult
from cnnlab.whole_imports import import_whole

if TYPE_CHECKING:
    from rich.console import Console


def load_training_data(cfg: TrainConfig, test_only: bool = False) -> DatasetSplits:
    """The dataset named by ``cfg.data``; image folders decode at the model's size.

    A folder's held-out split is drawn with ``cfg.split_seed`` (0 unless set), not
    ``cfg.seed``, so runs that differ in their seed are scored on the same images
    (``cfg.seed`` still orders the batches and draws the augmentation). ``test_only``:
    Fashion-MNIST's train split is not read (it comes back empty), for evaluation.
    """
    if cfg.data.startswith("folder:"):
        info = model_info(cfg.model)
        size = cfg.resize or info.input_size[1]
        return load_dataset(cfg.data, root=cfg.data_root, image_size=size,
                            channels=cfg.channels or info.input_size[0], seed=cfg.split_seed)
    if test_only and parse_spec(cfg.data)[0] == "fashion-mnist":
        return load_dataset(cfg.data, root=cfg.data_root, test_only=True)
    return load_dataset(cfg.data, root=cfg.data_root)


def check_evaluated_data(run_dir: str | Path, splits: DatasetSplits) -> None:
    """Refuse to score a run on the test split of the data its config names (``splits``,
    from ``load_training_data``) when its data.json says train() was given other data:
    the accuracy would be of other images. Runs without the record are not checked."""
    check_same_data(Path(run_dir), splits, "The test split its config names", test_only=True, fix=(
        "Score it on its own test images from Python (evaluate_run(run, data=SPLITS), "
        "the splits it trained on), or name the data to score it on: --data SPEC "
        "(data=SPEC)."))


def train(cfg: TrainConfig, *, data: DatasetSplits | str | None = None,
          console: Console | Literal[False] | None = None,
          write_run_dir: bool = True) -> TrainResult:
    """Train ``cfg.model`` and leave a complete run directory (unless told not to).

    Args:
        cfg: the run's settings; build one with a preset through ``resolve_config``
            (``TrainConfig(preset=...)`` alone applies none, and is refused).
        data: the data to train and evaluate on (``cnnlab.load_dataset``, a subset of
            it, made in a notebook); None loads what ``cfg.data`` names, and a spec
            ("fashion-mnist", "folder:PATH", "synthetic") is ``cfg.data`` given here.
            Data given as splits is recorded in the run's data.json, and ``resume`` then
            needs the same data.
        console: where the progress goes. None: standard error, as a progress bar in a
            terminal or notebook with a line per epoch (``cfg.quiet``: the lines alone,
            as ``cnnlab train --quiet``); a ``rich.console.Console`` to send it
            elsewhere; False: nothing (warnings still go through ``warnings``).
        write_run_dir: False trains without a folder under ``cfg.out_dir``: no
            config.yaml, checkpoints, metrics or report, so nothing to resume.

    Returns:
        TrainResult: the history of every epoch, the final and best test accuracy,
        and the trained ``model`` with its ``preprocess``.

    Raises:
        ConfigError: settings a new run cannot take (before any folder is made).
        TrainingDiverged: the loss became NaN or infinite; the last good checkpoint is
            kept.
        TrainingInterrupted: Ctrl-C or SIGTERM; a checkpoint was saved and
            ``resume(exc.run_dir)`` continues.

    torch's CPU thread count (``cfg.threads``), deterministic algorithms
    (``cfg.deterministic``) and cuDNN autotuning are set for the run and put back as
    they were when it returns or raises. The global RNG is not: it is seeded with
    ``cfg.seed`` (that is how a run repeats) and left where training took it.
    """
    return train_with_trainer(cfg, data=data, console=console, write_run_dir=write_run_dir)[1]


def train_with_trainer(cfg: TrainConfig, *, data: DatasetSplits | str | None = None,
                       console=None, write_run_dir: bool = True) -> tuple[Trainer, TrainResult]:
    """As :func:`train`, also returning the Trainer (its model, optimizer, loaders)."""
    import_whole()  # before the optimizer imports it, where a Ctrl-C would cut it off
    with torch_settings_kept():
        return _train(cfg, data, console, write_run_dir)


def _train(cfg: TrainConfig, data: DatasetSplits | str | None, console,
           write_run_dir: bool) -> tuple[Trainer, TrainResult]:
    if callable(getattr(cfg, "model", "")):  # a network, its class or its builder
        raise _not_a_model_name(cfg.model)  # (validate() said "allowed: text")
    cfg, data = train_arguments(cfg, data)
    # Checked as `cnnlab train` checks it (resolve_config): a plan only a new run must
    # hold. The data's paths as config.yaml keeps them: absolute, found from anywhere.
    cfg = absolute_data_paths(cfg.validate().check_new_run())
    check_preset(cfg)
    model_info(cfg.model)  # an unknown name fails here, before any folder is made
    if cfg.freeze_backbone and not cfg.weights:
        # Not in validate(): a resumed run drops its weights (the checkpoint has them).
        raise ConfigError("freeze_backbone trains only the classifier on top of pretrained "
                          "features; without --weights the frozen backbone is random. Give "
                          "--weights FILE (weights=FILE; DEFAULT for a tv: model), or drop "
                          "--freeze-backbone (freeze_backbone)")
    given = data is not None  # not what cfg.data names, maybe: recorded with the run
    data = data if given else _load_at_least_two_classes(cfg)
    if len(data.classes) < 2:  # before any folder is made
        raise ConfigError(f"{data.name} has {len(data.classes)} class ({', '.join(data.classes)})"
                          "; a classifier needs at least two")
    is_main = launched_as_main()
    if is_main:
        warn_of_a_small_input(cfg.model, cfg.resize or data.train.images.shape[2])
        if not given and cfg.data.startswith("folder:") and data.train.images.shape[1] == 1:
            warn_of_colour_read_as_grey(cfg)  # when training starts: not at eval or resume
    run_dir = None
    if write_run_dir:
        created_from = first_missing_folder(cfg.out_dir) if is_main else None
        run_dir = _shared_run_dir(cfg, is_main)
    # Building a large model takes seconds: a SIGTERM then (a scheduler's) stops it as
    # Ctrl-C does, and until the first step either leaves no run folder: one holding only
    # config.yaml (a Ctrl-C as it was written) was no run any command could resume.
    put_back = sigterm_as_interrupt()
    started = False
    try:
        trainer = Trainer(cfg, data, run_dir=run_dir, console=console)
        if is_main and not set_by_preset(cfg, "ema_decay"):  # its choice, not the user's
            steps = cfg.epochs * trainer.optimizer_steps_per_epoch
            warn_of_an_ema_decay_out_of_reach(cfg.ema_decay, steps)
        with run_lock(run_dir if is_main else None):  # `resume` of it meanwhile is refused
            if run_dir is not None and is_main:
                cfg.save(run_dir / "config.yaml")
                if given:
                    write_data_record(run_dir, data)
            put_back()  # fit() hears signals its own way from its start (a signal
            # in between: the rare microseconds a kill still leaves config.yaml alone)
            started = True
            result = trainer.fit()
            if run_dir is not None and is_main:
                write_run_outputs(trainer, result)
    except BaseException:
        if not started and run_dir is not None and is_main:
            _remove_unstarted_run(run_dir, created_from)
        raise
    finally:
        put_back()
    return trainer, result


def _not_a_model_name(model) -> ConfigError:
    """The error for a network (or its class, or builder) given as TrainConfig's model: a
    run is rebuilt by name (resume, evaluate_run, export_run, another process), so the
    network is registered under one, and that name is what a run takes."""
    what = getattr(model, "__name__", None) or f"a {type(model).__name__}"  # class, builder
    return ConfigError(
        f"TrainConfig's model is a registered name, not {what}: a run rebuilds its network by "
        "name to resume, evaluate and export it. Register a builder, @register_model(family="
        "..., paper=..., input_size=(C, H, W)) on def my_net(num_classes=10, in_channels=1):"
        " return MyNet(...) (from cnnlab.models), then TrainConfig(model=\"my_net\"); "
        "$CNNLAB_MODELS=FILE.py lets a new process and the cnnlab command find it")


def _remove_unstarted_run(run_dir: Path, created_from: Path | None) -> None:
    """Remove what a run stopped before its first step wrote (config.yaml, data.json), then
    the folder itself once empty; it held nothing a command could continue."""
    for name in ("config.yaml", "data.json"):
        (run_dir / name).unlink(missing_ok=True)
    remove_leftover_temp_files(run_dir)
    remove_unused_run_dir(run_dir, created_from)


def _load_at_least_two_classes(cfg: TrainConfig) -> DatasetSplits:
    """The run's data; a folder of one class is refused with the loader's advice (which
    says the fix), not warned about and then refused in other words."""
    from cnnlab.data.folder import SINGLE_CLASS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_training_data(cfg)
    for w in caught:
        if SINGLE_CLASS in str(w.message):
            raise ConfigError(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)  # the others
    return data


def _shared_run_dir(cfg: TrainConfig, is_main: bool) -> Path:
    """Rank 0 picks the folder; under torchrun the others are told its name (the group
    is joined here, as the Trainer would join it: before, a first run's other ranks
    were never told, and their result's run_dir was None)."""
    import torch.distributed as dist

    if launched_world_size() > 1:
        init_distributed(select_device(cfg.device).type)
    run_dir = new_run_dir(cfg.out_dir, cfg.model, cfg.run_name) if is_main else None
    if dist.is_available() and dist.is_initialized():
        box = [str(run_dir) if run_dir else None]
        dist.broadcast_object_list(box, src=0)
        run_dir = Path(box[0])
    return run_dir


def resume(run_dir: str | os.PathLike[str], *, data: DatasetSplits | None = None,
           console: Console | Literal[False] | None = None,
           extra_epochs: int | None = None, max_time: float | None = None,
           data_root: str | os.PathLike[str] | None = None, device: str | None = None,
           quiet: bool | None = None, threads: int | None = None) -> TrainResult:
    """Continue a run from ``checkpoints/last.safetensors`` exactly where it stopped.

    Args:
        run_dir: the run's folder (or the TrainResult ``train()`` returned).
        data: the data to train on, for a run that ``train()`` was given its data (a
            subset, say): the same data again, which is checked against the run's
            data.json; a run without one trusts it. None: the data config.yaml names
            (refused, naming this argument, when data.json says the run trained on
            other data).
        console: as for :func:`train`.
        extra_epochs: train this many epochs beyond the run's plan.
        max_time: a new total training-time budget in seconds (0: none) in place of the
            run's ``max_time``; None keeps the run's. A run whose budget is already
            spent is refused unless this raises it.
        data_root: where the dataset's files are now, in place of the run's
            ``data_root`` (kept in config.yaml for later resumes, made absolute); for a
            ``folder:PATH`` run, the folder's new place (its spec becomes
            ``folder:DATA_ROOT``).
        device: train on this device from here on (a run begun on a GPU, continued on
            a machine without one); kept in config.yaml. The continuation is exact on
            the same kind of device, and close (not bit for bit) on another.
        quiet, threads: plain log lines, and torch CPU threads, for this session only
            (not kept in config.yaml). On a CPU another thread count may change the
            last bits of the sums, so the continuation is close rather than exact.
    """
    run_dir, is_main = run_folder(run_dir, "resume"), launched_as_main()
    import_whole()  # as train() does
    if is_main and training_pid(run_dir) is None:  # (a run training now: RunInUse below)
        # Before the lock and the clean-up below write and remove files in it: a folder
        # given by mistake (a home folder; one with a config.yaml of its own) lost its
        # .lock and .NAME.XXXXXXXX.tmp files.
        _check_resumable(run_dir)
    # Held from the first look at the run to its last file: a run still training (even
    # one that has not written its first checkpoint yet) is named as such.
    with run_lock(run_dir if is_main and run_dir.is_dir() else None) as locked, \
            torch_settings_kept():
        if locked and (run_dir / "config.yaml").is_file():  # a run none writes to now:
            # what a kill cut short is left over
            for folder in (run_dir, run_dir / "checkpoints", run_dir / "plots"):
                remove_leftover_temp_files(folder)
        return _resume(run_dir, data, console, extra_epochs, max_time, data_root, device,
                       {"quiet": quiet, "threads": threads})


def _check_resumable(run_dir: Path) -> None:
    """Refuse a folder that is no run (exit 2, not 1), or one with no checkpoint to
    continue."""
    check_run_folder(run_dir)
    if not (run_dir / "checkpoints" / "last.safetensors").exists():
        raise ckpt.CheckpointError(
            f"{run_dir} is not a resumable run: it has no checkpoints/last.safetensors "
            f"({no_checkpoint_words(run_dir)}; {start_again(run_dir)})"
        )


def _resume(run_dir: Path, data: DatasetSplits | None, console, extra_epochs: int | None,
            max_time: float | None, data_root: str | os.PathLike[str] | None,
            device: str | None, session: dict) -> TrainResult:
    cfg_path = run_dir / "config.yaml"
    last = run_dir / "checkpoints" / "last.safetensors"
    _check_resumable(run_dir)
    cfg = load_plan(cfg_path, last)  # caught up where a kill left it behind
    as_planned = dataclasses.replace(cfg)  # before this resume's --epochs and --max-time
    if extra_epochs is not None and extra_epochs < 1:
        raise ConfigError(f"--epochs {extra_epochs} (extra_epochs): resume adds epochs to the "
                          f"run's plan ({cfg.epochs}); give a number >= 1, or leave it out to "
                          "finish it")
    if extra_epochs:
        cfg.epochs += extra_epochs
    if max_time is not None:
        if not 0 <= max_time < float("inf"):  # inf: named by the flag too
            raise ConfigError(f"--max-time {max_time:g}: give a total training time in "
                              "seconds > 0, or 0 for no time limit")
        cfg.max_time = max_time or None
    if data_root is not None:
        cfg = move_data(cfg, data_root)  # a folder's path is in its spec
    if device is not None:
        cfg.device = device
    work_left = check_work_left(cfg, last, run_dir, as_planned)
    check_output_names(run_dir)  # refused before training, not after it
    if data_root is None and data is None:
        check_run_data(cfg, run_dir)  # its folder moved: name --data-root
    plan = dataclasses.replace(cfg)
    cfg.weights = None  # the checkpoint replaces any starting weights
    # How this session shows and runs the training, not part of the run's plan.
    cfg = dataclasses.replace(cfg, **{k: v for k, v in session.items() if v is not None})
    cfg.validate()
    given = data is not None
    data = data if given else load_training_data(cfg)
    source = "The data given to resume()" if given else f"The data its config names ({cfg.data})"
    check_same_data(run_dir, data, source, fix=(
        f"Pass the data it trained on: resume({str(run_dir)!r}, data=...), from Python "
        "(`cnnlab resume` loads the data its config names)."))
    check_trained_on(last, data, cfg.train_subset)
    if not work_left and launched_as_main():  # said once the data is known to be its own
        written = summary_file(run_dir) or {}
        undrawn, skipped = written.get("figures_not_drawn"), written.get("figures_skipped")
        why = ("its figures were skipped when it ended (--no-figures, CNNLAB_NO_FIGURES)"
               if skipped and set(undrawn or ()) <= set(skipped) else
               f"{', '.join(map(str, undrawn))} could not be drawn when it ended" if undrawn
               else "was stopped while its summary and report were written (summary.json, "
                    "plots/, report.html)")
        warn_user(f"{run_dir} has trained all it will, but {why}: writing them now, from its "
                  "checkpoint and metrics; nothing is trained", CheckpointWarning)
    trainer = Trainer(cfg, data, run_dir=run_dir, console=console)
    trainer.load_resume_state(last)
    if extra_epochs and trainer.dist.is_main:
        _warn_if_the_schedule_restarts(trainer, extra_epochs)
    changed = extra_epochs or any(v is not None for v in (max_time, data_root, device))
    if trainer.dist.is_main and changed:  # the new plan, for later resumes (see Resumable)
        trainer.after_first_checkpoint = lambda: plan.save(cfg_path)
    if trainer.dist.is_main and given and not (run_dir / DATA_RECORD).exists():
        write_data_record(run_dir, data)  # a run from before the record: checked from now
    result = trainer.fit() if work_left else trainer.result_from_files()
    if trainer.dist.is_main:
        if not work_left:  # their .json copies may be an epoch behind them too
            for which in ("last", "best"):
                ckpt.mend_readable_copy(run_dir / "checkpoints" / f"{which}.safetensors")
        write_run_outputs(trainer, result)
    return result


def _warn_if_the_schedule_restarts(trainer: Trainer, extra_epochs: int) -> None:
    """A decaying schedule spans the plan, so more epochs stretch it: at the resume point
    the learning rate jumps back up. Intended (an annealed lr would train nothing more),
    but the user should know."""
    cfg = trainer.cfg
    steps = trainer.optimizer_steps_per_epoch
    step, warmup = trainer.scheduler.last_epoch, warmup_step_count(cfg.warmup_epochs, steps)
    before = cfg.lr * lr_factor(cfg.schedule, step, (cfg.epochs - extra_epochs) * steps, warmup)
    after = cfg.lr * lr_factor(cfg.schedule, step, cfg.epochs * steps, warmup)
    if after > before * 1.01:
        more = f"{extra_epochs} more epoch" + ("" if extra_epochs == 1 else "s")
        warn_user(f"{more}: the {cfg.schedule} schedule now spans "
                  f"{cfg.epochs} epochs, so the learning rate goes from {before:.3g} back "
                  f"up to {after:.3g} here and decays again to epoch {cfg.epochs}",
                  CheckpointWarning)


def read_result(run_dir: str | os.PathLike[str]) -> TrainResult:
    """A run's result read back from its folder (``run_dir``, or a TrainResult),
    without its model or data: for a
    notebook opened again later (``.curves()``, ``.history``, ``.per_class_acc``), or a
    caller that lost it. A finished or stopped run's is its summary.json's; one
    interrupted, or still training, is its last checkpoint's, with the metrics.csv rows
    written so far and the last evaluation's per-class numbers (class_metrics.jsonl).
    ``model`` is None: :func:`load_run` gives the network. A run whose checkpoints were
    deleted (to save space) is read from its summary alone. Raises NotARunError for a
    folder that is no run, CheckpointError for a run with neither (stopped in its first
    epoch)."""
    from cnnlab.train.report_evaluation import last_class_metrics

    run_dir = run_folder(run_dir, "read_result")  # a TrainResult stands for its folder
    check_run_folder(run_dir)
    last = run_dir / "checkpoints" / "last.safetensors"
    state = ckpt.read_state(last) if last.is_file() else {}
    if state:
        ckpt.require_state(state, ("best_test_acc", "train_time"), last)
    summary = current_summary(run_dir, state) if state else summary_file(run_dir)
    if summary is None and not state:
        raise ckpt.CheckpointError(f"{run_dir} has neither checkpoints/last.safetensors nor "
                                   "summary.json (stopped before its first epoch ended?): it "
                                   "has no result to read")
    metrics = run_dir / "metrics.csv"
    history = MetricsLog.read(metrics) if metrics.is_file() else []
    preprocess = Preprocess.from_dict(state["preprocess"]) if "preprocess" in state else None
    if summary is not None:
        return TrainResult(
            run_dir=run_dir, history=history, final=summary.get("final") or {},
            # null (not evaluated yet), or -1 in a summary.json from before it said null
            best_test_acc=best_accuracy(summary.get("best_test_acc")),
            train_time_s=summary["train_time_s"],
            per_class_acc=accuracies_from_json(summary.get("per_class_acc") or {}),
            confusion=summary.get("confusion") or [], stopped=summary.get("stopped"),
            eval_images=summary.get("eval_images"), test_images=summary.get("test_images"),
            preprocess=preprocess)
    last = last_class_metrics(run_dir, history, len(state.get("classes") or []))
    record = last[1] if last else None
    return TrainResult(
        run_dir=run_dir, history=history, final=history[-1] if history else {},
        best_test_acc=best_accuracy(state["best_test_acc"]), train_time_s=state["train_time"],
        per_class_acc=record["per_class_acc"] if record else {},
        confusion=record["confusion"] if record else [], preprocess=preprocess)
