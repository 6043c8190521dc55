"""`cnnlab train`, `resume`, `eval`."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM
from cnnlab.train.config import MAX_THREADS

from .hints import hint_at_a_busy_cpu
from .messages import err, error, fail, fail_for, named_by_its_flag, output_console
from .paths import DATA_ROOT_DEFAULT, dataset_name, folder_text
from .train_notes import (
    hint_at_fp16_on_a_cpu,
    hint_at_the_presets,
    note_what_replaces_the_config_files_choices,
    note_what_the_train_loss_holds,
    refuse_a_run_folder_as_out_dir,
    warn_about_settings_without_effect,
)
from .train_result import print_result as _print_result

console = output_console()
training_log = output_console(stderr=True)  # the progress bar and epoch lines

FIGURES_HELP = ("--no-figures: write the report without its figures (plots/), ~90% of a "
                "tiny run's time; `cnnlab resume RUN` draws them later. (default: on; off "
                "where $CNNLAB_NO_FIGURES=1, which --figures overrides)")


def run_errors():
    from cnnlab.data.dataset import DataError
    from cnnlab.extras import MissingExtraError
    from cnnlab.models import UnknownModelError
    from cnnlab.models.interop import WeightsMismatchError
    from cnnlab.train import ConfigError
    from cnnlab.train.checkpoint import CheckpointError
    from cnnlab.train.runlog import RunInUse

    # OSError: a full disk or a failing one mid-run (its files stay as the last
    # checkpoint left them) is one line naming the file, not a traceback.
    return (UnknownModelError, ConfigError, WeightsMismatchError, CheckpointError,
            DataError, MissingExtraError, OSError, ValueError, RunInUse)


def train(
    model: str = typer.Argument(None, help="Registered model name (see `cnnlab models`), "
                                "or tv:NAME (torchvision) / timm:NAME (timm installed); "
                                "may be left out where --config FILE names one (model:)."),
    data: str = typer.Option(None, callback=dataset_name(),
                             help="fashion-mnist, folder:PATH or synthetic."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Folder holding the dataset files."),
    channels: int = typer.Option(None, help="folder:PATH images decoded as 1 (greyscale) "
                                 "or 3 (RGB) channels, the model built to take them (a "
                                 "pretrained first conv adapted)."),
    preset: str = typer.Option(None, help="book (the book's recipe for MODEL), fast, or "
                                          "none (default: the defaults shown below)."),
    config: Path = typer.Option(None, "--config", help="YAML file of TrainConfig fields."),
    epochs: int = typer.Option(None, help="Number of epochs."),
    batch_size: int = typer.Option(None, help="Batch size (per process under torchrun)."),
    lr: float = typer.Option(None, help="Peak learning rate."),
    optimizer: str = typer.Option(None, help="sgd, nesterov, adamw or muon (Muon for the "
                                             "conv filters, Nesterov SGD for the rest)."),
    muon_lr: float = typer.Option(None, help="With --optimizer muon: the filters' lr."),
    momentum: float = typer.Option(None, help="SGD momentum (nesterov and muon: 0 means "
                                              "0.9)."),
    weight_decay: float = typer.Option(None, help="Not applied to norm and bias parameters."),
    schedule: str = typer.Option(None, help="constant, onecycle or cosine."),
    warmup_epochs: float = typer.Option(None, help="Epochs of linear lr warm-up (fractions "
                                        "allowed; at least 2 optimizer steps when > 0). "
                                        "Over its W optimizer steps the lr climbs evenly to "
                                        "the peak, reached on the last: the first runs at 0.1 + "
                                        "0.9/W of the peak lr with onecycle, 1/W with cosine "
                                        "and constant."),
    label_smoothing: float = typer.Option(None, help="Share of each target spread over all "
                                                     "classes (0 = off)."),
    ema_decay: float = typer.Option(None, help="Weight EMA decay (0 = off). Warmed up: "
                                    "after n optimizer steps the EMA applies the smaller "
                                    "of this and (1 + n)/(10 + n), so a run of fewer than "
                                    "about 9/(1 - decay) steps never reaches it (0.999: "
                                    "8,990 steps)."),
    lookahead_steps: int = typer.Option(None, help="Lookahead: every N steps, pull the "
                                                   "weights back toward slow ones (0 = off)."),
    lookahead_alpha: float = typer.Option(None, help="Lookahead: how far the slow weights "
                                                     "move toward the live ones (0-1]."),
    clip_grad_norm: float = typer.Option(None, help="Clip gradients to this norm (0 = off)."),
    accum_steps: int = typer.Option(None, help="Gradient accumulation steps."),
    resize: int = typer.Option(None, help="Square input size the model sees."),
    crop_padding: int = typer.Option(None, help="Random translation by up to N pixels of "
                                       "the stored image, before --resize: with it the "
                                       "shift scales (2 at 28 -> 56 moves the model's input "
                                       "up to +-4 pixels)."),
    flip: bool = typer.Option(None, "--flip/--no-flip", help="Random horizontal flips."),
    flip_mode: str = typer.Option(None, help="With --flip: random (each epoch anew) or "
                                             "alternate (each image every other epoch)."),
    erase_prob: float = typer.Option(None, help="Random erasing probability."),
    normalize: bool = typer.Option(None, "--normalize/--no-normalize",
                                   help="Standardise inputs with the training set's mean "
                                        "and std."),
    tta_flip: bool = typer.Option(None, "--tta-flip/--no-tta-flip",
                                  help="Evaluate on image + mirror."),
    tta_shift: int = typer.Option(None, help="Also evaluate on copies shifted diagonally "
                                             "by +-N pixels (0 = off)."),
    device: str = typer.Option(None, help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps."),
    amp: str = typer.Option(None, help="auto, off, bf16 or fp16."),
    channels_last: bool = typer.Option(None, "--channels-last/--no-channels-last",
                                       help="NHWC memory layout (faster convolutions on "
                                            "GPUs with bf16/fp16)."),
    compile: bool = typer.Option(None, "--compile/--no-compile", help="torch.compile the model."),
    compile_mode: str = typer.Option(None, help="default, reduce-overhead (CUDA graphs), "
                                                "max-autotune or max-autotune-no-cudagraphs."),
    fused_optimizer: bool = typer.Option(None, "--fused-optimizer/--no-fused-optimizer",
                                         help="One fused kernel per parameter group for "
                                              "the optimizer's update."),
    pad_stem_channels: int = typer.Option(None, help="Compute the first convolution on this "
                                          "many channels, zeros added (e.g. 4; 0 = off)."),
    deterministic: bool = typer.Option(None, "--deterministic/--no-deterministic",
                                       help="Deterministic kernels, no cuDNN autotuning: "
                                            "bit-identical GPU reruns where torch has such "
                                            "kernels (it warns of an op without); slower on "
                                            "GPUs. CPU runs repeat without it (same "
                                            "--threads)."),
    threads: int = typer.Option(None, help="torch CPU threads (default: one per core; 1 "
                                           "is steadiest on a busy CPU)."),
    scratch_ops: str = typer.Option(None, help="Build the model from cnnlab's from-scratch "
                                               "ops: on, fft (FFT convolution) or off."),
    seed: int = typer.Option(None, help="Seed of the initial weights, data order and "
                                          "augmentation."),
    max_time: float = typer.Option(None, help="Stop after this many seconds of training."),
    log_every: int = typer.Option(None, help="Steps between progress updates."),
    weights: str = typer.Option(None, help="Start from these weights: a safetensors / .pth "
                                "file (a run's checkpoint gives the weights it evaluated: "
                                "the EMA's when on), or a torchvision weights name (DEFAULT) "
                                "to download."),
    freeze_backbone: bool = typer.Option(None, "--freeze-backbone/--no-freeze-backbone",
                                         help="Train the classifier only (batch norm's "
                                              "running statistics still follow the data)."),
    backbone_lr_scale: float = typer.Option(None, help="Backbone lr = lr x this (e.g. 0.1); "
                                            "the classifier gets lr."),
    new_head: bool = typer.Option(None, "--new-head/--no-new-head",
                                  help="With --weights: a new classifier even where the "
                                       "weights' has the data's class count (another "
                                       "1000-class set; a head started over)."),
    whiten_stem: bool = typer.Option(None, "--whiten-stem/--no-whiten-stem",
                                     help="Set the first convolution's filters to whiten "
                                          "the training images' patches, held fixed."),
    out_dir: str = typer.Option(None, help="Where run directories go (default: runs/)."),
    run_name: str = typer.Option(None, help="Run directory name (default: <date>-<time>-<model>)."),
    train_subset: int = typer.Option(None, help="Train on the first N training images only "
                                                "(quick runs; the split is in random order)."),
    eval_subset: int = typer.Option(None, help="Evaluate on the first N test images only."),
    eval_every: int = typer.Option(None, help="Evaluate after every N-th epoch (and the last)."),
    quiet: bool = typer.Option(None, "--quiet/--no-quiet", help="Plain log lines, no bar."),
    figures: bool = typer.Option(None, "--figures/--no-figures", help=FIGURES_HELP),
) -> None:
    """Train MODEL (or the model --config FILE names) and write a run directory (config,
    metrics, checkpoints, report)."""
    from cnnlab.train import resolve_config
    from cnnlab.train import train as run_training

    overrides = {k: v for k, v in locals().items()
                 if k not in ("model", "config", "preset", "run_training", "resolve_config",
                              "figures")}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "scratch_ops" in overrides:  # the flag's words to the config's values
        words = {"on": True, "true": True, "fft": "fft", "off": False, "false": False}
        if overrides["scratch_ops"].lower() not in words:
            fail(f"--scratch-ops {overrides['scratch_ops']}: choose on, fft or off", code=2)
        overrides["scratch_ops"] = words[overrides["scratch_ops"].lower()]
    try:
        if model is None:
            _require_a_model(config)
        cfg = resolve_config(model, preset=preset, config_file=config, overrides=overrides)
        refuse_a_run_folder_as_out_dir(cfg)
        hint_at_the_presets(cfg, preset, config)
        note_what_replaces_the_config_files_choices(cfg, config)
        hint_at_a_busy_cpu(cfg.threads, cfg.device)
        hint_at_fp16_on_a_cpu(cfg)
        note_what_the_train_loss_holds(cfg)
        warn_about_settings_without_effect(cfg, overrides, config)
        # How this command writes its outputs, not the run's recipe: for this run alone
        with _figures_as_chosen(figures):
            result = _guarded(lambda: run_training(cfg, console=training_log))
    except run_errors() as exc:
        fail_for(named_by_its_flag(exc, overrides))
    _print_result(result)


@contextlib.contextmanager
def _figures_as_chosen(figures: bool | None):
    """--no-figures and --figures as $CNNLAB_NO_FIGURES, which the run's outputs read
    (run_outputs), while the run trains; neither leaves it as the environment set it.
    Put back after: a later train in the same process (a notebook's, a test's) had its
    figures skipped by an earlier command's flag."""
    from cnnlab.figures import NO_FIGURES_VARIABLE

    before = os.environ.get(NO_FIGURES_VARIABLE)
    if figures is False:
        os.environ[NO_FIGURES_VARIABLE] = "1"
    elif figures:
        os.environ.pop(NO_FIGURES_VARIABLE, None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(NO_FIGURES_VARIABLE, None)
        else:
            os.environ[NO_FIGURES_VARIABLE] = before


def _require_a_model(config_file) -> None:
    """Refuse a train command without MODEL whose --config FILE names no model either (a
    run's config.yaml names its own, re-run as it is)."""
    from cnnlab.train import TrainConfig

    if config_file is None or TrainConfig.read_file(config_file).get("model") is None:
        where = "" if config_file is None else f" ({config_file} has no model:)"
        fail(f"no model to train{where}: give MODEL (cnnlab train lenet_modern ...) or a "
             "--config FILE that names one (model: lenet_modern; a run's config.yaml does)",
             code=2)


def _guarded(fn):
    """Run training; divergence and interruption end with a message, not a traceback.
    Under torchrun the processes end their process group together where they all are at
    the same point: the run finished, or they agreed to stop (for a signal, or a loss
    gone NaN/inf; weights or a test loss found NaN/inf at an epoch's end, every rank
    finds alike), and then rank 0 alone says why; before it lets the others go, so
    torchrun, which stops the rest once one has exited with an error, cannot cut it off."""
    from cnnlab.train import TrainingDiverged, TrainingInterrupted
    from cnnlab.train.distributed import end_distributed, launched_as_main

    try:
        result = fn()
    except TrainingInterrupted as exc:
        if launched_as_main():
            err.print(f"[yellow]{escape(str(exc))}[/]")  # a folder's "[/b]" is no markup
        end_distributed()
        raise typer.Exit(interrupted_status()) from None
    except TrainingDiverged as exc:
        if launched_as_main():
            error(str(exc))
        end_distributed()
        raise typer.Exit(3) from None
    end_distributed()
    return result


def resume(
    run: Path = typer.Argument(..., help="Run directory to continue."),
    epochs: int = typer.Option(None, help="Train this many epochs beyond the run's plan "
                                          "(config.yaml, which earlier resumes updated; "
                                          "default: 0, the plan as it is)."),
    max_time: float = typer.Option(None, help="New total training-time budget in seconds, "
                                              "time already trained included (0 = none); "
                                              "default: the run's own."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Where the dataset files are now, if they "
                                       "moved since the run began (for a folder:PATH "
                                       "run, the folder's new path; default: the run's)."),
    device: str = typer.Option(None, help="Train on this device from here on (e.g. cpu for "
                                          "a run begun on a GPU); default: the run's own."),
    threads: int = typer.Option(None, min=1, max=MAX_THREADS,
                                help="torch CPU threads for this session (default: "
                                                  "the run's own, one per core unless it set "
                                                  "one; 1 is steadiest on a busy CPU)."),
    quiet: bool = typer.Option(None, "--quiet/--no-quiet", help="Plain log lines, no bar "
                                  "(this session; default: the run's own)."),
    figures: bool = typer.Option(None, "--figures/--no-figures", help=FIGURES_HELP),
) -> None:
    """Continue a run exactly where its last checkpoint stopped.

    A finished run whose figures were skipped (--no-figures) or failed to draw: draw
    them, training nothing."""
    from cnnlab.train import resume as resume_run

    try:
        # as train says it, of the threads and device the session will use: the run's own
        # unless given
        recorded = _recorded_settings(run)
        _busy_cpu_note_for(run, threads or recorded.get("threads"),
                           device or recorded.get("device") or "auto")
        with _figures_as_chosen(figures):
            result = _guarded(lambda: resume_run(
                run, console=training_log, extra_epochs=epochs, max_time=max_time,
                data_root=data_root, device=device, quiet=quiet, threads=threads))
    except run_errors() as exc:
        fail_for(exc)
    _print_result(result)


def evaluate(
    run: Path = typer.Argument(..., help="Run directory."),
    data: str = typer.Option(None, callback=dataset_name("the run's own"),
                             help="Dataset to evaluate on (default: the run's)."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Where the run's data is now, if it moved (for "
                                       "a folder:PATH run, the folder's new path; "
                                       "default: the run's)."),
    which: str = typer.Option("best", metavar="CHECKPOINT",
                              help="best (the epoch that scored highest on the "
                              "test split: optimistic there) or last checkpoint."),
    device: str = typer.Option("auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps."),
    tta_flip: bool = typer.Option(None, "--tta-flip/--no-tta-flip", help="Also on the "
                                  "mirror image (default: as the run evaluated)."),
    tta_shift: int = typer.Option(None, help="Also on copies shifted diagonally by +-N "
                                             "pixels; 0: none (default: as the run evaluated)."),
    eval_subset: int = typer.Option(None, help="The first N test images only (a run trained "
                                    "with --eval-subset N repeats its numbers so; default: "
                                    "the whole test split)."),
    threads: int = typer.Option(None, min=1, max=MAX_THREADS,
                                help="torch CPU threads for this evaluation (default: "
                                           "one per core; 1 is steadiest on a busy CPU)."),
    all_classes: bool = typer.Option(False, "--all-classes", help="List every class's "
                                     "accuracy (past 30 classes: the 10 lowest and the 10 "
                                     "highest)."),
) -> None:
    """Evaluate a run on its test split: overall and per-class accuracy."""
    from cnnlab.shell_words import shell_quote
    from cnnlab.train.distributed import launched_world_size
    from cnnlab.train.evaluate import evaluate_run

    try:
        processes = launched_world_size()
    except ValueError as exc:  # WORLD_SIZE that is no number
        fail_for(exc)
    if processes > 1:  # each process would score the whole split, and print it
        fail(f"eval runs in one process: under torchrun each of the {processes} "
             f"would evaluate the whole test split. Run it without torchrun: cnnlab eval "
             f"{shell_quote(str(run))}", code=2)
    try:
        _busy_cpu_note_for(run, threads, device)  # as train and resume say it
        # A bar as it scores: 10,000 test images take a CPU minutes, in silence before.
        scored = evaluate_run(run, data, data_root, which, device, tta_flip, tta_shift,
                              eval_subset, threads=threads, progress=True)
    except run_errors() as exc:
        fail_for(exc)
    res, classes = scored.result, scored.classes
    console.print(scored.headline(), highlight=False)
    groups = scored.class_table(every=all_classes)  # past 30 classes: the two ends
    for heading, rows in groups:
        table = Table(title=heading or None)
        table.add_column("class")
        table.add_column("accuracy", justify="right")
        for name, words in rows:
            # A class "[red]x" is no markup; one with no test image scored has no accuracy.
            table.add_row(escape(name), words)
        console.print(table)
    if len(groups) > 1:  # the command again with --all-classes: its other options kept
        (_, lowest), (_, highest) = groups
        console.print(f"{len(classes):,} classes: the {len(lowest)} of lowest and the "
                      f"{len(highest)} of highest accuracy; add --all-classes to list every "
                      "one", highlight=False)
    elif groups[0][0]:  # too few scored for two ends: the others have no accuracy
        console.print(f"add --all-classes to list all {len(classes):,} classes",
                      highlight=False)
    console.print(f"test loss {res.loss:.4f} (mean cross-entropy, without label smoothing)",
                  highlight=False)


def _show_config_defaults(command) -> None:
    """Each train option that sets a TrainConfig field says that field's default in its
    help (the options default to None, "not given", so typer can show none): what a run
    without --preset or --config gets."""
    import dataclasses
    import inspect

    from cnnlab.train.config import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                if f.default is not dataclasses.MISSING}
    for name, parameter in inspect.signature(command).parameters.items():
        option = parameter.default
        if not isinstance(option, typer.models.OptionInfo) or name not in defaults \
                or "(default" in (option.help or ""):  # its help says it already
            continue
        value = defaults[name]
        shown = _DEFAULT_IN_WORDS.get(name) or (
            ("on" if value else "off") if isinstance(value, bool)  # a flag, as the words go
            else f"{value:g}" if isinstance(value, float) else str(value))
        option.help = f"{option.help or ''} (default: {shown})".strip()


# Defaults whose value (None, False) would not say what happens.
_DEFAULT_IN_WORDS = {
    "data_root": DATA_ROOT_DEFAULT,
    "resize": "the data's own size",
    "channels": "as the model takes them, see `cnnlab models`",
    "amp": "auto: bf16 on CUDA, off elsewhere",
    "channels_last": "on for CUDA, off elsewhere",
    "threads": "torch's own, one per core",
    "scratch_ops": "off",
    "max_time": "no limit",
    "weights": "none: randomly initialised",
    "train_subset": "all of them",
    "eval_subset": "all of them",
}


_show_config_defaults(train)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("resume")(resume)
    app.command("eval")(evaluate)


def _busy_cpu_note_for(run, threads: int | None, device: str | None) -> None:
    """hint_at_a_busy_cpu for a session on ``run``, where it is a run (its config.yaml is
    there); else its error comes alone, without a note on threads before it."""
    if (Path(run) / "config.yaml").is_file():
        hint_at_a_busy_cpu(threads, device)


def _recorded_settings(run: str) -> dict:
    """The ``threads`` and ``device`` of ``run``'s config.yaml ({} where it cannot be read,
    which resume itself then says): a run trained with --threads 1 and resumed without
    it trains on one, and was told "--threads 1 is often steadier"."""
    from cnnlab.train.yaml_file import read_mapping

    try:
        config = read_mapping(Path(run) / "config.yaml")
    except Exception:  # unreadable, or no mapping: resume refuses it, naming the cause
        return {}
    threads, device = config.get("threads"), config.get("device")
    return {"threads": threads if isinstance(threads, int) and threads > 0 else None,
            "device": device if isinstance(device, str) else None}
