"""What a path given as a run must be, and where a run's data is.

A run keeps its data's place in config.yaml (a ``folder:PATH`` spec, ``data_root``),
made absolute when the run is created, so that ``cnnlab eval`` and ``resume`` find
the data from any working directory; ``--data-root NEWPATH`` names the data's new
place when it moved. A path given as a run that is no run's folder is a request
invalid as given (:class:`NotARunError`, exit 2), not data that could not be read.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from cnnlab.shell_words import shell_quote
from cnnlab.train.config import ConfigError, TrainConfig

FOLDER = "folder:"
# Written beside config.yaml when train() is given its data (a subset, data made in a
# notebook): config.yaml names only the spec, and loading that gives other data.
DATA_RECORD = "data.json"
RUN_FOLDER_HINT = ("give a run's folder (the `run:` line `cnnlab train` printed, e.g. "
                   "runs/<time>-<model>)")


class NotARunError(ConfigError, FileNotFoundError):
    """A path given as a run that is no run's folder: missing, a file, or a folder
    without config.yaml. A ConfigError (the CLI exits 2: change the command), and a
    FileNotFoundError for callers that catch that."""


# What a run stopped before its first checkpoint can hold: cnnlab's own files (the
# folder, TensorBoard's events files aside, as new_run_dir made it and train began it).
_UNSTARTED_RUN_FILES = {"config.yaml", DATA_RECORD, "metrics.csv", "class_metrics.jsonl",
                        "checkpoints", "plots", ".lock"}


def no_checkpoint_words(run_dir: Path) -> str:
    """Why a run without checkpoints/last.safetensors cannot be resumed. Killed between
    its first epoch's two saves (best first, so that a resume re-saves a best its last
    checkpoint reaches), it holds best.safetensors alone: the weights it evaluated, not
    the optimizer or data order a resume needs. "Stopped before its first checkpoint"
    there read as false, beside that file."""
    if (run_dir / "checkpoints" / "best.safetensors").is_file():
        return ("killed while its first epoch's checkpoints were written: best.safetensors "
                "holds the weights that epoch evaluated, which `cnnlab eval` reads, but not "
                "the optimizer and data order a resume needs")
    return "a run stopped before its first checkpoint cannot be resumed"


def start_again(run_dir: Path) -> str:
    """How to start again a run stopped before its first checkpoint (a kill while it
    began): the command that trains its config.yaml anew, where it has one (from Python,
    with its data, for a run of data given to train(): the command would train on what
    its config names). The folder is called deletable only where it holds nothing but
    such a run's files: a folder given by mistake with a config.yaml of its own (a
    project's) was advised deleted, with everything else in it."""
    config = run_dir / "config.yaml"
    if not config.is_file():
        return "start it again"
    deletable = " (this one can then be deleted)" if _only_run_files(run_dir) else ""
    if (run_dir / DATA_RECORD).is_file():
        return (f"start it again, in a new folder: train(TrainConfig.load({str(config)!r}), "
                f"data=...) from Python, with the data it was given{deletable}")
    from cnnlab.train.distributed import launch_command, launched_world_size

    try:  # under torchrun (a `torchrun ... resume` refused), on as many processes again
        processes = launched_world_size()
    except ValueError:  # a WORLD_SIZE no torchrun set: its error is not this message's
        processes = 1
    command = launch_command(f"train --config {shell_quote(str(config))}", processes)
    return f"start it again, in a new folder: {command}{deletable}"


def _only_run_files(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds nothing but what a run writes before its first checkpoint
    (a write's leftover temporary file, ``.NAME.XXXXXXXX.tmp``, included)."""
    try:
        names = [p.name for p in run_dir.iterdir()]
    except OSError:
        return False
    return all(name in _UNSTARTED_RUN_FILES or name.startswith("events.out.tfevents.")
               or (name.startswith(".") and name.endswith(".tmp")) for name in names)


def python_resume_call(run_dir) -> str:
    """``resume('RUN')``, as a caller from Python continues ``run_dir``; with ``data=...``
    for a run of data given to train() (its data.json), which no command can continue
    (`cnnlab resume` loads the data its config names). The one place this call is
    written: resume_words, machine.python_resume and TrainingInterrupted use it."""
    data = ", data=..." if (Path(run_dir) / DATA_RECORD).is_file() else ""
    return f"resume({str(run_dir)!r}{data})"


def resume_words(run_dir: Path, world_size: int = 1, *, backticks: bool = True,
                 flags: str = "") -> str:
    """How to resume ``run_dir``, as a message says it: the command (`cnnlab resume RUN`;
    torchrun's, for a run of ``world_size`` processes), or for a run of data given to
    train() (data.json), which the command refuses, the call from Python.
    ``backticks``: the command between them, apart from the words around it; ``flags``:
    the command's own ("--figures"), after the run."""
    if (Path(run_dir) / DATA_RECORD).is_file():
        return f"{python_resume_call(run_dir)} from Python, with the data it trained on"
    from cnnlab.train.distributed import launch_command  # torch: said after a run alone

    # A path with spaces, quoted: pasted whole
    words = f"resume {shell_quote(str(run_dir))}" + (f" {flags}" if flags else "")
    command = launch_command(words, world_size)
    return f"`{command}`" if backticks else command


def name_taken_words(taken: Path, path: Path) -> str:
    """The warning for a run whose ``--run-name`` is taken by ``taken``, the run going to
    ``path`` instead: how to continue ``taken`` where it is a run (the command, and from
    Python the call); what it is otherwise. "`cnnlab resume runs/x` continues that one"
    was said of a plain file, and of a folder holding no run, which the command refuses."""
    if not taken.is_dir():
        return f"{taken} exists, a file: this run is {path}"
    if not ((taken / "config.yaml").is_file() or (taken / "checkpoints").is_dir()
            or _empty(taken)):  # empty: a run `cnnlab train` is starting there now
        return f"{taken} exists, a folder holding no run: this run is {path}"
    from cnnlab.train.machine import python_resume  # it imports this module

    # The command, or for a run of data given to train() (which the command refuses)
    # the call with data=...; a notebook's way beside
    how = resume_words(taken)
    from_python = python_resume(taken)
    also = f"; from Python: {from_python}" if from_python and from_python not in how else ""
    return f"{taken} exists: this run is {path} ({how} continues that one{also})"


def check_run_folder(run_dir: Path) -> None:
    """Refuse a ``run_dir`` that is not a run's folder, naming what it is instead."""
    if not run_dir.exists():
        raise NotARunError(f"{run_dir} does not exist: {RUN_FOLDER_HINT}")
    if not run_dir.is_dir():
        raise NotARunError(f"{run_dir} is a file, not a run's folder: {RUN_FOLDER_HINT}")
    if not (run_dir / "config.yaml").is_file():
        recorded = _recorded_config(run_dir)
        if recorded is not None:
            code = ("from cnnlab.train.run_files import restore_config; "
                    f"restore_config({json.dumps(str(run_dir))})")
            raise NotARunError(
                f"{run_dir} has lost its config.yaml (deleted or moved?), which every run "
                f"command reads; {recorded[0]} records the settings the run trained under: "
                f"write them back with `python -c {shell_quote(code)}`, then run the "
                "command again")
        raise NotARunError(f"{run_dir} is not a cnnlab run directory (no config.yaml)"
                           + _what_it_holds(run_dir))


def _recorded_config(run_dir: Path) -> tuple[Path, dict] | None:
    """(the checkpoint, the config it records) of a run folder: last.safetensors's, else
    best.safetensors's; None where neither is a readable cnnlab checkpoint."""
    from cnnlab.train import checkpoint as ckpt  # torch: only for a folder without config

    for tag in ("last", "best"):
        path = run_dir / "checkpoints" / f"{tag}.safetensors"
        if not path.is_file():
            continue
        try:
            config = ckpt.read_state(path).get("config")
        except ckpt.CheckpointError:
            continue
        if isinstance(config, dict) and "model" in config:
            return path, config
    return None


def restore_config(run_dir) -> Path:
    """Write back the config.yaml a run folder has lost, from the settings its checkpoint
    records (the same ``TrainConfig.to_dict()`` config.yaml holds, validated on the way).
    Not done by itself when a command finds it missing: eval and predict write nothing in
    a run's folder (it may be read-only, or another run's copy), and the file's loss may
    be a mistake worth seeing. The plan (epochs, max_time) is the checkpoint's: a resume
    killed after it wrote a new --epochs, before its first checkpoint, needs it again."""
    run_dir = Path(run_dir)
    config = run_dir / "config.yaml"
    if config.exists():
        raise FileExistsError(f"{config} exists: nothing to restore")
    recorded = _recorded_config(run_dir)
    if recorded is None:
        raise NotARunError(f"{run_dir / 'checkpoints'} holds no readable cnnlab checkpoint "
                           "recording the run's settings: no config.yaml can be restored")
    TrainConfig.from_dict(recorded[1]).save(config)
    return config


def _what_it_holds(folder: Path) -> str:
    """The runs (``runs/``) or the sweep a folder given as a run holds, as a hint."""
    try:
        runs = sorted(p.name for p in folder.iterdir() if (p / "config.yaml").is_file())
    except OSError:
        runs = []
    if runs:
        return (f"; it holds {len(runs)} run folder{'s' if len(runs) > 1 else ''}: give "
                f"one of them, e.g. {folder / runs[-1]}")
    if (folder / "trials.sqlite").is_file():
        return ("; it holds a design sweep (trials.sqlite), whose trials keep no trained "
                "weights: `cnnlab design analyze` reads it")
    # `cnnlab train` makes its folder first, config.yaml once data and model load
    if _empty(folder):
        return ("; it is empty: a run `cnnlab train` is starting in it now writes its "
                "config.yaml once its data and model are ready (try again in a moment); "
                f"otherwise {RUN_FOLDER_HINT}")
    return f": {RUN_FOLDER_HINT}"


def _empty(folder: Path) -> bool:
    try:
        return not any(folder.iterdir())
    except OSError:
        return False


def absolute_path(path: str) -> str:
    """``path`` with ``~`` expanded, made absolute against the working directory."""
    return os.path.abspath(os.path.expanduser(path))


def absolute_data_paths(cfg):
    """``cfg`` (a TrainConfig or a sweep's SweepSpec; a copy, if anything changes) with
    its data's paths, a ``folder:PATH`` spec's PATH and ``data_root``, and a weights
    file's, absolute: what a new run or sweep stores, so that they are found from any
    working directory (``folder:photos`` was looked for under the one ``cnnlab eval`` ran
    in; ``--weights resnet18.pth`` under the one ``cnnlab train --config`` ran in)."""
    changes = {}
    if cfg.data.startswith(FOLDER) and cfg.data[len(FOLDER):].strip():
        changes["data"] = FOLDER + absolute_path(cfg.data[len(FOLDER):])
    if isinstance(cfg.data_root, str) and cfg.data_root.strip():
        changes["data_root"] = absolute_path(cfg.data_root)
    weights = getattr(cfg, "weights", None)  # a file's path, not a torchvision name
    if isinstance(weights, str) and weights.strip() and Path(weights).expanduser().is_file():
        changes["weights"] = absolute_path(weights)  # config.yaml re-run from elsewhere
    changes = {k: v for k, v in changes.items() if getattr(cfg, k) != v}
    return dataclasses.replace(cfg, **changes) if changes else cfg


def move_data(cfg, data_root: str):
    """``cfg`` (a TrainConfig or a sweep's SweepSpec), a copy, pointed at its data's new
    place, ``data_root`` (``--data-root``), made absolute: for a ``folder:PATH`` spec the
    folder itself (its path is in the spec), otherwise the folder holding the dataset's
    files."""
    if cfg.data.startswith(FOLDER):
        return dataclasses.replace(cfg, data=FOLDER + absolute_path(data_root))
    return dataclasses.replace(cfg, data_root=absolute_path(data_root))


def check_run_data(cfg: TrainConfig, run_dir: Path) -> None:
    """Refuse, naming the fix (``--data-root NEWPATH``), a run whose data folder is not
    where config.yaml has it: moved, renamed, or on a disk not mounted now."""
    from cnnlab.data.dataset import DataError

    if cfg.data.startswith(FOLDER):
        where, what = cfg.data[len(FOLDER):], "the folder of images"
    elif cfg.data_root:
        where, what = cfg.data_root, f"the folder of {cfg.data}'s files (data_root)"
    else:
        return
    path = Path(where).expanduser()
    if path.is_dir():
        return
    relative = "" if path.is_absolute() else (
        f" (a relative path, looked for under the working directory {Path.cwd()})")
    raise DataError(
        f"{where}: {what} the run {run_dir} trained on is not there{relative}; moved or "
        "renamed? Give its new place with --data-root NEWPATH")
