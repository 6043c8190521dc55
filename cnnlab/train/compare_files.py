"""Reading a run folder's files for :mod:`cnnlab.train.compare`: small text files only
(no weights, no data, no PyTorch), so a run still training, or whose data moved, reads
as well as a finished one. A file that is not there yet reads as empty; one that cannot
be read as cnnlab writes it is named, in an error or, where the rest of the run still
compares, a warning."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from cnnlab.notices import warn_user
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.run_files import DATA_RECORD, NotARunError, check_run_folder
from cnnlab.train.runlog import MetricsLog, RunLogWarning


class RunFilesError(ValueError):
    """A run's file that cannot be read as a run writes it (damaged, or edited by hand):
    the message names the file. Work that could not be done (exit 1), not a bad request."""


def run_folders(paths: list[str | os.PathLike]) -> list[Path]:
    """Each path's run folders, in the order given, a folder given twice taken once."""
    found: list[Path] = []
    for path in (Path(p).expanduser() for p in paths):
        inside = sorted(p for p in path.iterdir() if (p / "config.yaml").is_file()) \
            if path.is_dir() and not (path / "config.yaml").is_file() else []
        if inside:
            found += inside
            continue
        try:
            check_run_folder(path)  # names what a folder that is no run holds instead
        except NotARunError as exc:
            if len(paths) == 1 or not path.exists():  # a typo, or the only thing asked
                raise
            warn_user(f"left out: {exc}", RunLogWarning)
            continue
        found.append(path)
    unique = {p.resolve(): p for p in reversed(found)}
    return [p for p in found if unique[p.resolve()] is p]


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.yaml's settings. One written by another cnnlab, with fields this one does
    not know, is compared as written (with a warning) rather than refused: a comparison
    needs its values, not a run this cnnlab could resume."""
    from cnnlab.train.yaml_file import read_mapping

    path = run_dir / "config.yaml"
    try:
        values = read_mapping(path)
        unknown = sorted(set(values) - {f.name for f in fields(TrainConfig)})
        if not unknown or "model" not in values or "epochs" not in values:
            return TrainConfig.load(path).to_dict()  # refuses a damaged file, naming it
    except ConfigError as exc:  # a run's file, damaged or edited: not the request's fault
        raise RunFilesError(
            f"{exc}: mend it, or leave that run out of the comparison") from None
    warn_user(f"{path}: fields this cnnlab does not know ({', '.join(unknown)}): written "
              "by another version; compared as written", RunLogWarning)
    return values


def read_history(run_dir: Path) -> list[dict]:
    """metrics.csv's rows, numbers as numbers; [] before the first epoch has ended."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return []
    try:
        rows = MetricsLog.read(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunFilesError(f"{path} cannot be read ({exc}): mend it, or leave that run out "
                            "of the comparison") from None
    # A line cut short (a write killed mid-row, a full disk) has fields missing: left out.
    cut = [r["epoch"] for r in rows if any(v is None for v in r.values())]
    if cut:
        warn_user(f"{path}: the row of epoch {', '.join(map(str, cut))} is cut short "
                  "(fields missing); left out", RunLogWarning)
    return [r for r in rows if all(v is not None for v in r.values())]


def read_summary(run_dir: Path) -> dict[str, Any]:
    """summary.json, written when the run finished or stopped; {} until then."""
    return _json_object(run_dir / "summary.json",
                        "its run's parameters, processes and time budget are not known here")


def read_data_record(run_dir: Path) -> dict[str, Any]:
    """data.json, the record of data given to ``train()`` from Python (its images per
    split and their fingerprints); {} for a run on the data its config names."""
    return _json_object(run_dir / DATA_RECORD,
                        "whether its run trained on the same data as the others is not known")


def read_checkpoint_state(run_dir: Path) -> dict[str, Any]:
    """The last checkpoint's training state, from its readable copy (last.json: no
    tensor read): the input size, the step it stopped at, its device and parameters;
    {} before the first checkpoint."""
    return _json_object(run_dir / "checkpoints" / "last.json",
                        "its input size and where it stopped are not known")


def _json_object(path: Path, lost: str) -> dict[str, Any]:
    """The JSON object in ``path``; {} when there is none yet, or when it cannot be read
    (said, with what is ``lost``, and not fatal: the rest of the run still compares)."""
    if not path.exists():
        return {}
    try:  # a folder of that name (moved in by hand): IsADirectoryError, said as the rest
        value = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(value, dict):
            raise ValueError(f"it holds a {type(value).__name__}, not an object")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        warn_user(f"{path} could not be read ({exc}): {lost}", RunLogWarning)
        return {}
    return value
