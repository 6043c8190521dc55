"""What is already in a folder a design command would write into (a sweep's, a report's):
named before anything is written, so another tool's files are never mixed with ours; and
how an earlier design analysis is told from another tool's files, to be replaced."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path

from cnnlab.design.sweep_spec import SweepError, SweepSpec, sweep_identity
from cnnlab.formatting import first_few


def others_files(folder: Path, own: tuple[str, ...] = ()) -> str:
    """The entries of ``folder`` a command would mix its own files into, as "a, b, c,
    d, e and 3 more" ("" when none): those not in ``own``, and not the hidden ``*.tmp``
    files a killed atomic write or store creation leaves (they belong to no one)."""
    names = sorted(p.name for p in folder.iterdir() if p.name not in own
                   and not (p.name.startswith(".") and p.name.endswith(".tmp")))
    return first_few(names)


# Written into summary.json: how a later analysis knows the folder as an earlier one's
# report, which it may replace, rather than someone else's files (a training run's own
# report.html and summary.json), which it must not.
REPORT_FORMAT = "cnnlab design analysis"
REPORT_FILES = ("summary.md", "summary.json", "edf.png", "error_vs_macs.png", "report.html")


def _earlier_report(out: Path) -> bool:
    """Whether ``out`` holds a report :func:`~cnnlab.design.report.analyze` wrote."""
    try:
        written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(written, dict):
        return False
    if written.get("format") == REPORT_FORMAT:
        return True
    # Written before the marker (the default DIR/analysis of older cnnlab): its keys, and
    # nothing in the folder but its files.
    return {"spaces", "pairs", "bin_edges"} <= set(written) and not others_files(
        out, own=REPORT_FILES)


def check_report_folder(out: Path) -> None:
    """Refuse a report folder holding files other than an earlier report's: the report's
    files (report.html, summary.json, ...) would overwrite theirs; and a file in its
    place. A missing or empty folder, or an earlier analysis's, is fine."""
    if out.exists() and not out.is_dir():  # before any other check (a sweep's state)
        raise SweepError(f"{out} is a file, not a folder: pick another --out")
    if not out.is_dir() or _earlier_report(out):
        return
    shown = others_files(out)
    if shown:
        raise SweepError(f"{out} already holds other files ({shown}) and is not an earlier "
                         f"design analysis: the report ({', '.join(REPORT_FILES)}) would "
                         "overwrite or mix with them. Pick another --out (a new or empty "
                         "folder)")


def remove_untrained_sweep(directory: Path, made_from: Path | None, spec: SweepSpec) -> None:
    """Remove the sweep a refused `design run` created where none of its trials finished
    (its store and lock file, and the folders it made), leaving the folder as it found it.
    Not while another driver holds its lock, nor a sweep of another spec: two commands
    creating one folder at once, the one refused for asking another sweep removed the
    other's new store before that one took its lock."""
    from cnnlab.atomic import remove_empty_folders_made
    from cnnlab.design.runner import LOCK_NAME, sweep_lock
    from cnnlab.design.store import DB_NAME, TrialStore

    if not (directory / DB_NAME).is_file():
        return
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(sweep_lock(directory))
        except SweepError:  # another driver's sweep now: its to train
            return
        with TrialStore(directory) as store:
            stored = store.spec()  # with its data's shape, which ``spec`` may leave to it
            asked = replace(spec, image_size=spec.image_size or stored.image_size,
                            in_channels=spec.in_channels or stored.in_channels,
                            num_classes=spec.num_classes or stored.num_classes)
            if store.count("done") or store.count("failed") or sweep_identity(
                    stored.to_dict()) != sweep_identity(asked.to_dict()):
                return
        for name in (DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm",
                     LOCK_NAME):
            (directory / name).unlink(missing_ok=True)
    remove_empty_folders_made(directory, made_from)
