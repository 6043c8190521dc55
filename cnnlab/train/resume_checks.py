"""What a resume refuses before it trains: a run with nothing left to train (every epoch
of its plan done, or its time budget spent; except one killed while its summary and
report were written, which a resume writes), one started on another number of
processes, or one whose config.yaml differs from the settings its checkpoint trained
under (check_same_settings). What it says and goes on: a checkpoint written by other
code, torch or device, from which it may not continue bit for bit. And the summary.json
of a run's last checkpoint, which tells a finished run from one killed as it ended."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from cnnlab.code_version import short
from cnnlab.figures import NO_FIGURES_VARIABLE, figures_skipped
from cnnlab.formatting import and_list
from cnnlab.shell_words import shell_quote
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.distributed import launched_world_size, relaunch_command
from cnnlab.train.run_files import DATA_RECORD, python_resume_call, resume_words


class RunFinished(ConfigError):
    """The run has trained every epoch of its plan: resuming it would train nothing."""


def check_work_left(cfg: TrainConfig, last: Path, run_dir: Path,
                    as_planned: TrainConfig) -> bool:
    """Refuse to resume a run that would train nothing: one that has trained every
    epoch of its plan (it would only rewrite its report), or whose training-time budget
    is spent (the trainer would stop again after one step). Except where it ended as
    it was planned (``as_planned``: config.yaml's) and its summary and report are not of
    its last checkpoint (killed while they were written): False, for a resume that
    writes them. True when there is training left."""
    state = ckpt.read_state(last)  # its header: the weights are read once, by the trainer
    ckpt.require_state(state, ("epoch", "train_time"), last)

    def done(plan: TrainConfig) -> bool:
        return not training_left(plan, state)

    spent = cfg.max_time is not None and state["train_time"] >= cfg.max_time
    # A run stopped by Ctrl-C has no summary either: a --max-time below what it trained
    # is refused below, not taken for a run killed while writing its outputs.
    if done(cfg) and done(as_planned) and outputs_behind(run_dir, state):
        check_world_size(cfg, state, run_dir)  # the summary records the process count
        return False
    if state["epoch"] >= cfg.epochs:
        raise RunFinished(
            f"{run_dir} has trained every epoch of its plan ({cfg.epochs}), so resuming would "
            f"train nothing. Train it N epochs more with --epochs N (from Python: "
            f"resume(..., extra_epochs=N)), or look at it with: {_evaluate_words(run_dir)}"
            + _skipped_figures_words(run_dir, state))
    check_world_size(cfg, state, run_dir)
    if spent:
        raise ConfigError(
            f"this run has already trained for {state['train_time']:.1f} s of its "
            f"{cfg.max_time:g} s budget (max_time), so resuming would train nothing. Give it "
            "a larger total budget with --max-time S (S above the time spent), or "
            "--max-time 0 for no limit" + _skipped_figures_words(run_dir, state))
    return True


def load_plan(cfg_path: Path, last: Path) -> TrainConfig:
    """The run's config.yaml, its plan (epochs, time budget) caught up with the ``last``
    checkpoint where that trained past it. A resume writes a new plan (--epochs,
    --max-time) there just after its first checkpoint trained under it; a kill between
    the two left a checkpoint past config.yaml's epochs (or inside the epoch after
    them), or under a budget the resume had lifted or set, and a plain resume then called
    the run finished ("5 of 4" epochs; "stopped: max_time" at epoch 3 of 4) or trained
    without its budget. The checkpoint records the plan it trained under."""
    cfg = TrainConfig.load(cfg_path)
    try:
        state = ckpt.read_state(last)
    except ckpt.CheckpointError:  # said by check_work_left, after the arguments' checks
        return cfg
    trained = state.get("config")
    if not isinstance(trained, dict):  # a hand-made checkpoint: its own checks say so
        return cfg
    caught_up = {}
    epoch, epochs, step = state.get("epoch"), trained.get("epochs"), state.get("step_in_epoch")
    if isinstance(epoch, int) and isinstance(epochs, int):
        # The epoch it is in: a first checkpoint mid-epoch (Ctrl-C, a budget) is past
        # the old plan's last epoch too
        inside = epoch + (1 if isinstance(step, int) and step > 0 else 0)
        if cfg.epochs < inside <= epochs:
            caught_up["epochs"] = epochs
    budget, used = trained.get("max_time", cfg.max_time), state.get("train_time")
    number = isinstance(budget, (int, float))
    if cfg.max_time is None:  # a budget the resume set where there was none
        if number:
            caught_up["max_time"] = budget
    elif isinstance(used, (int, float)) and used >= cfg.max_time and (
            budget is None or number and budget > used):  # a spent one it lifted
        caught_up["max_time"] = budget
    if not caught_up:
        return cfg
    cfg = dataclasses.replace(cfg, **caught_up)
    cfg.save(cfg_path)
    return cfg


# What a resume sets anew (its options; --data-root moves a folder's spec), what holds
# for one session, and what changes nothing a run trains: config.yaml may differ from the
# checkpoint's record there, and nowhere else. compile wraps only the training forward
# (the weights and optimizer state are the plain model's): a GPU run continued with
# --device cpu where torch.compile finds no C++ compiler goes on with compile: false.
_RESUME_MAY_CHANGE = frozenset({"epochs", "max_time", "data", "data_root", "device", "threads",
                                "quiet", "weights", "out_dir", "run_name", "log_every",
                                "compile", "compile_mode"})


def check_same_settings(cfg: TrainConfig, state: dict, path: Path, config_file: str) -> None:
    """Refuse to resume under settings other than those the checkpoint at ``path`` (whose
    ``state`` is given) trained under: ``cfg`` is read from ``config_file``, edited by hand
    since (a learning rate changed), or one of the two was copied from another run of the
    same model. The resume went on under the edited settings, no word said, and the run's
    summary and report gave them as the whole run's. A checkpoint recording no config
    (hand-made), or a setting only one of the two knows (another cnnlab version), is let be."""
    trained = state.get("config")
    if not isinstance(trained, dict):
        return
    now = json.loads(json.dumps(cfg.to_dict()))  # as the checkpoint's record went through JSON
    differ = [k for k in now if k in trained and k not in _RESUME_MAY_CHANGE
              and now[k] != trained[k]]
    if not differ:
        return

    def shown(values: dict) -> str:
        return ", ".join(f"{k}: {json.dumps(values[k])[:60]}" for k in differ)

    raise ckpt.CheckpointError(
        f"{config_file} differs from the settings {path} was trained under ({shown(now)} "
        f"there; {shown(trained)} in the checkpoint): it was edited since, or one of the two "
        "was copied from another run. A resume continues a run as it trained: set "
        f"{'it' if len(differ) == 1 else 'them'} back in {config_file}, or train the new "
        "settings as a new run (cnnlab train --config FILE --run-name NEW)")


def training_left(cfg: TrainConfig, state: dict) -> bool:
    """Whether a run whose checkpoint holds ``state`` has training left under the plan
    ``cfg``: an epoch to train, and time left in its budget (max_time)."""
    return state["epoch"] < cfg.epochs and (
        cfg.max_time is None or state["train_time"] < cfg.max_time)


# What a resume's own written_by (checkpoint.written_by) must match for a continuation
# bit for bit, by kind of device: the code and torch everywhere, then the device's.
_SAME_EVERYWHERE = ("cnnlab", "sources", "torch", "device")
_SAME_ON = {"cpu": ("torch_threads",), "cuda": ("gpu", "cudnn")}


_GOES_ON = ("Training continues, but the run may no longer be bit for bit what it would have "
            "been uninterrupted")


def other_code_notice(path: Path, then: Any, now: dict) -> str | None:
    """What a resume says when the checkpoint at ``path`` was written by other code, torch
    or device than this process's: training goes on, but from there it may not be bit
    for bit the run an uninterrupted one would have been. ``then``: the checkpoint's
    ``written_by`` (None: it predates them); ``now``: this process's. None where they
    match."""
    if not isinstance(then, dict):
        return (f"{path} was written by an older cnnlab, from before checkpoints recorded the "
                f"code and torch that wrote them; this resume runs {_words(now)}. {_GOES_ON}: "
                "cnnlab may have changed how it trains since (its sums, random draws)")
    keys = _SAME_EVERYWHERE + (_SAME_ON.get(now["device"], ()) if then.get("device")
                               == now["device"] else ())
    differ = [key for key in keys if then.get(key) != now.get(key)]
    if not differ:
        return None
    options = [f"--device {then.get('device')}"] if "device" in differ else []
    if "torch_threads" in differ:
        options.append(f"--threads {then.get('torch_threads')}")
    fixes = [f"with {' '.join(options)}"] if options else []
    if {"gpu", "cudnn"} & set(differ):
        fixes.append(f"on a {then.get('gpu')} with cuDNN {then.get('cudnn')}")
    if {"cnnlab", "sources", "torch"} & set(differ):
        fixes.append("under the cnnlab and torch that wrote it")
    return (f"{path} was written by {_words(then)}; this resume runs {_words(now)} "
            f"({_names(differ)} differ{'s' if len(differ) == 1 else ''}). {_GOES_ON}. To "
            f"continue it exactly, resume it {', '.join(fixes)}")


def _words(stamp: dict) -> str:
    """A ``written_by`` in words: ``cnnlab 0.1.0 (sources 01e62c482dc7), torch 2.5.1, on
    cpu with 4 threads``."""
    device = stamp.get("device")
    where = f"on {device}"
    if device == "cpu" and stamp.get("torch_threads"):
        threads = stamp["torch_threads"]
        where += f" with {threads} thread{'s' if threads != 1 else ''}"
    elif device == "cuda":
        where += f" ({stamp.get('gpu')}, cuDNN {stamp.get('cudnn')})"
    return f"{short(stamp)}, {where}"


_NAMES = {"cnnlab": "cnnlab's version", "sources": "cnnlab's source code", "torch": "torch",
          "device": "the device", "torch_threads": "the thread count", "gpu": "the GPU",
          "cudnn": "cuDNN"}


def _names(differ: list[str]) -> str:
    return and_list([_NAMES[key] for key in differ])


def _skipped_figures_words(run_dir: Path, state: dict) -> str:
    """For a run with figures not drawn (skipped by --no-figures, or failed), where
    figures are skipped now too (a resume would leave them undrawn): how to draw them,
    or "" for any other run."""
    undrawn = (current_summary(run_dir, state) or {}).get("figures_not_drawn")
    if not figures_skipped() or not undrawn:
        return ""
    call = f"{python_resume_call(run_dir)} with {NO_FIGURES_VARIABLE} unset"
    # The command with --figures (quoted; torchrun's), or only from Python (a run of data
    # given to train())
    how = (f"{call}, from Python" if (run_dir / DATA_RECORD).is_file() else
           f"{resume_words(run_dir, state.get('world_size') or 1, flags='--figures')} "
           f"(from Python: {call})")
    return (f". Its figures are not drawn ({and_list(list(map(str, undrawn)))}), and figures "
            f"are skipped here too (--no-figures, or {NO_FIGURES_VARIABLE} set): {how} draws "
            "them, training nothing")


def _evaluate_words(run_dir: Path) -> str:
    """How to evaluate a finished run: `cnnlab eval RUN`, or for a run of data given to
    train() (which the command refuses: it loads the data its config names) the call
    from Python with that data."""
    if (run_dir / DATA_RECORD).is_file():
        return f"evaluate_run({str(run_dir)!r}, data=...) from Python, with the data it trained on"
    # Quoted as resume_words quotes its run: a path with spaces, or Windows', pasted whole
    return f"cnnlab eval {shell_quote(str(run_dir))} (evaluate_run)"


def check_world_size(cfg: TrainConfig, state: dict, run_dir: Path) -> None:
    """Refuse to resume a run on another number of processes than trained it: its batch,
    steps and schedule are per process (and its summary records the count)."""
    trained_on, now = state.get("world_size"), launched_world_size()
    if trained_on is not None and trained_on != now:  # None: saved before cnnlab recorded it
        raise ConfigError(
            f"{run_dir} was trained on {trained_on} process{'es' if trained_on > 1 else ''} "
            f"(batch {cfg.batch_size} each, {cfg.batch_size * trained_on} a step), and this "
            f"resume runs on {now}: the batch, the steps per epoch and the schedule would "
            "change mid-run (and a mid-epoch resume would repeat images). Resume it as it "
            f"was trained: {relaunch_command(f'resume {shell_quote(str(run_dir))}', trained_on)}"
        )


def summary_file(run_dir: Path) -> dict | None:
    """summary.json's contents; None where it is missing or damaged."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def current_summary(run_dir: Path, state: dict) -> dict | None:
    """summary.json where it is of the checkpoint whose ``state`` is given (it records the
    training time that checkpoint holds); None where it is missing, damaged, or an
    earlier stop's (before a resume added epochs)."""
    summary = summary_file(run_dir)
    return summary if summary and summary.get("train_time_s") == state["train_time"] else None


def outputs_behind(run_dir: Path, state: dict) -> bool:
    """Whether summary.json and report.html are missing, or not of the checkpoint whose
    ``state`` is given: the summary is that checkpoint's, and the report is there (the
    outputs remove an earlier one before they write the summary). Or whether a figure
    failed to draw (a matplotlib error, a full disk), as the summary records it: a
    resume draws it again."""
    summary = current_summary(run_dir, state)
    if summary is None or not (run_dir / "report.html").is_file():
        return True
    # Figures not drawn (skipped, or failed) are behind, unless figures are skipped now
    # too: writing them "now" drew nothing and said to resume again. Such a run is
    # finished; its refusal says how to draw them (_skipped_figures_words).
    return bool(summary.get("figures_not_drawn")) and not figures_skipped()
