"""What a run leaves for people to read: metrics.csv and TensorBoard events (the terminal's
progress bar is train_progress's).

The run directory (``runs/<date>-<model>/``)::

    config.yaml        the resolved TrainConfig
    metrics.csv        one row per epoch (appended and flushed as each ends)
    class_metrics.jsonl  per-class accuracy and confusion matrix, one line per epoch
    *.pending          a log's lines another program held it against (Windows; log_appends)
    events.*           TensorBoard: panels train, test, lr, time, memory, class_acc
                       (written by tensorboard_log)
    data.json          what train() was given as data, when it was (run_data)
    plots/             curves.png, confusion.png, misclassified.png (drawn by
                       run_outputs with report_figures and report_examples)
    summary.json       final metrics, versions, machine, every command that trained it
    report.html        one self-contained page
    checkpoints/       last.safetensors, best.safetensors (+ readable .json)
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import math
import os
import stat
import sys
from operator import itemgetter
from pathlib import Path

from cnnlab import file_lock
from cnnlab.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    remove_empty_folders_made,
    write_problem,
)
from cnnlab.file_lock import LockState
from cnnlab.notices import CnnlabWarning, warn_user
from cnnlab.shell_words import shell_quote
from cnnlab.train.log_appends import (
    LogAppends,
    drop_kept,
    drop_torn_tail,
    kept_file,
    take_in_kept_lines,
    with_kept,
)
from cnnlab.train.run_names import as_listed, check_windows_run_dir, file_name_for
from cnnlab.train.tensorboard_log import TensorBoardLog

# Columns of metrics.csv, in order. Per-class accuracy and the confusion matrix
# go to summary.json and the plots, not to the CSV. peak_memory_mb is in MiB
# (train.device.peak_memory_mb); the name stays because existing runs, and resuming
# them, read this column by it.
METRIC_COLUMNS = [
    "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
    "images_per_s", "epoch_time_s", "elapsed_s", "eval_time_s", "wall_s", "peak_memory_mb",
]


def new_run_dir(out_dir: str | Path, model: str, run_name: str | None = None) -> Path:
    """``out_dir/<YYYYmmdd-HHMMSS>-<model>``, never reusing an existing folder."""
    base = Path(out_dir)
    blocker = next((p for p in (base, *base.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        from cnnlab.train.config import ConfigError

        raise ConfigError(f"out_dir {base}: {blocker} is a file, not a folder; runs are "
                          "written to folders under out_dir (--out-dir)")
    name = run_name or f"{dt.datetime.now():%Y%m%d-%H%M%S}-{file_name_for(model)}"
    path, n = base / name, 1
    if sys.platform == "win32":  # else refused by mkdir, or a name made another's
        check_windows_run_dir(path, run_name)
    try:
        base.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                path.mkdir()  # the claim itself: two runs starting at once get two folders
                if run_name and n > 1:  # a name asked for and taken: say where it went
                    from cnnlab.notices import SetupWarning
                    from cnnlab.train.run_files import name_taken_words

                    taken = as_listed(base / name)  # "ResNet" where "resnet" was asked
                    warn_user(name_taken_words(taken, path), SetupWarning)
                return path
            except FileExistsError:
                n += 1
                path = base / f"{name}-{n}"
    except OSError as exc:  # read-only, no permission, a full disk, a name too long
        from cnnlab.train.config import ConfigError

        fix = "a shorter --run-name" if exc.errno == errno.ENAMETOOLONG else "another --out-dir"
        raise ConfigError(f"cannot create the run folder {path}: "
                          f"{(exc.strerror or str(exc)).lower()}; choose {fix}") from None


def remove_unused_run_dir(run_dir: Path, created_from: Path | None) -> None:
    """Remove ``run_dir`` when nothing was written to it, and the empty folders above it
    that :func:`new_run_dir` created (from ``created_from``, as
    :func:`~cnnlab.atomic.first_missing_folder` named it before): a run that failed before
    it started leaves no trace, not even a new ``--out-dir``."""
    try:
        run_dir.rmdir()  # only an empty one: another run may have started in it
    except OSError:
        return
    remove_empty_folders_made(run_dir.parent, created_from)


class RunInUse(RuntimeError):
    """Another process is training this run directory now."""


@contextlib.contextmanager
def run_lock(run_dir: Path | None):
    """Hold ``run_dir/.lock`` while training it, so a second ``resume`` of a run still
    training is refused (both would append the same epochs). An OS lock (flock): a
    process that dies, however it dies, releases it. Where there is no flock (Windows)
    or the file system refuses locks (some network mounts), nothing is locked. Yields
    whether it holds the lock."""
    fd = _take_run_lock(Path(run_dir) / ".lock", run_dir) if run_dir is not None else None
    try:
        yield fd is not None  # whether it holds the lock: no other process trains the run
    finally:
        if fd is not None:
            # Still held: a process that opened the file meanwhile finds, once it holds
            # the lock, that it is no longer the file at this name, and starts again.
            (Path(run_dir) / ".lock").unlink(missing_ok=True)
            os.close(fd)


def _take_run_lock(path: Path, run_dir) -> int | None:
    """The lock file's descriptor, locked; None where locking is not possible here."""
    if file_lock.fcntl is None:  # not POSIX (Windows): no lock, and no lock file left
        return None
    unguarded = file_lock.Unguarded("run", path, (
        f"the run {run_dir} trains unguarded: a second command training it meanwhile "
        "(cnnlab resume) is not refused, and both would append the same epochs. Train each "
        "run from one command at a time, or give --out-dir a file system with locks"))
    replaced = False  # once only: on some network mounts every file counts as linked
    for _ in range(file_lock.RELOCK_TRIES):  # a file taken over between open and lock
        try:  # never through a link: the pid written below would replace another file
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP and not replaced and _replace_foreign_lock(path):
                replaced = True  # the link gone, never the file it led to
                continue
            return None  # a read-only folder, say: the run's own writes will say so
        state = file_lock.try_lock(fd, unguarded=unguarded)  # once: a 2nd resume refused
        if state is LockState.BUSY:
            holder = file_lock.holder(fd) or "?"
            os.close(fd)
            raise RunInUse(
                f"{run_dir} is being trained by another process now (pid {holder}): let it "
                f"finish, or stop it (Ctrl-C there, or kill -TERM {holder}: it saves a "
                "checkpoint) and resume then")
        if state is LockState.NO_LOCKS:  # ENOLCK, ENOSYS, EOPNOTSUPP: a mount without locks
            os.close(fd)
            return None
        same, held = file_lock.is_at(fd, path), os.fstat(fd)
        if same and (not stat.S_ISREG(held.st_mode) or held.st_nlink != 1):
            os.close(fd)  # a hard link to another file (or no file): never truncated
            if not replaced and _replace_foreign_lock(path):
                replaced = True
                continue
            return None
        if same:
            file_lock.name_holder(fd, str(os.getpid()))  # a full disk: held without it
            return fd
        os.close(fd)  # locked a file its holder removed on finishing: take the new one
    return None  # inode numbers that never match (some network mounts): go on unlocked


def _replace_foreign_lock(path: Path) -> bool:
    """Remove the name ``path`` (a link to another file, planted or copied in with the run),
    never its file, for cnnlab's own lock; False (go on unlocked) in a read-only folder."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return False
    warn_user(f"{path} was a link to another file, not a lock cnnlab writes: replaced by "
              "one (the file it led to is untouched)", RunLogWarning)
    return True


def training_pid(run_dir: Path) -> int | None:
    """The process training ``run_dir`` now: the pid its lock file names while a process
    holds the lock (0 where the file names none). None when none does: the file goes
    when training ends, and one a run killed outright left is held by no one (its pid
    may name another process by now). None too where there are no locks (Windows)."""
    pid = file_lock.held_by(Path(run_dir) / ".lock")  # None: no lock file, not held (not
    if pid is None:  # training), or a mount without locks (cannot tell)
        return None
    return int(pid) if pid.isdigit() else 0


def accuracies_as_json(per_class_acc: dict[str, float]) -> dict[str, float | None]:
    """Per-class accuracies for summary.json and class_metrics.jsonl: a class with no test
    image scored (NaN, no accuracy) as null, since a bare NaN is no JSON and strict
    readers (jq, a browser's JSON.parse) refuse the whole file over it."""
    return {name: None if acc != acc else acc for name, acc in per_class_acc.items()}


def accuracies_from_json(per_class_acc: dict) -> dict[str, float]:
    """:func:`accuracies_as_json`'s inverse: null back to NaN, as evaluate gives it."""
    return {name: math.nan if acc is None else acc for name, acc in per_class_acc.items()}


class RunLogWarning(CnnlabWarning):
    """A line of a run's log (metrics.csv, class_metrics.jsonl) that is no record, edited
    or damaged by hand, was dropped: the checkpoint, not the log, is the run's state. Or
    a log another program held (Windows): its lines waited (log_appends)."""


class MetricsLog:
    """Appends one row per epoch to metrics.csv and TensorBoard (from ``purge_step`` on)."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, purge_step: int | None = None):
        self.path = Path(run_dir) / "metrics.csv"
        _check_writable(Path(run_dir))  # before TensorBoard's thread fails on its own
        for path in (self.path, self.path.with_name("class_metrics.jsonl")):
            _check_log_file(path)
            drop_torn_tail(path, RunLogWarning)
        self.rows, dropped = self._read_rows(self.path) if self.path.exists() else ([], 0)
        kept = _kept_rows(self.path)  # what a held file kept out (log_appends): moved in
        self.rows = with_kept(self.rows, kept, itemgetter("epoch"))
        if dropped or kept:  # the file holds records only, or the next row could join a bad one
            self._rewrite()
            drop_kept(self.path)
        classes = self.path.with_name("class_metrics.jsonl")
        take_in_kept_lines(classes, lambda line: _epoch_of(line, classes))
        header = io.StringIO(newline="")
        csv.DictWriter(header, METRIC_COLUMNS).writeheader()
        self.appends = LogAppends(self.path, header.getvalue(), "row", RunLogWarning)
        self.class_appends = LogAppends(classes, "", "line", RunLogWarning)
        self.tensorboard = TensorBoardLog.open(run_dir, purge_step) if tensorboard else None

    @staticmethod
    def read(path: Path) -> list[dict]:
        """The rows, numbers as numbers, with those a held file kept out of it (in
        ``metrics.csv.pending``). A row whose epoch is not a whole number is dropped with a
        warning (a resume compares epochs; it failed with a TypeError there)."""
        return with_kept(MetricsLog._read_rows(path)[0], _kept_rows(path), itemgetter("epoch"))

    @staticmethod
    def _read_rows(path: Path) -> tuple[list[dict], int]:

        rows, dropped = [], 0
        # Bytes that are no UTF-8 (a damaged disk block) cost their row, not the file.
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as text:
            fh = io.StringIO(_whole_lines(text.read(), path), newline="")
            first = fh.readline()
            # A first line that is no header (damaged): read with cnnlab's columns, it the
            # first row, so the rows are kept and the rewrite gives the header back.
            headed = not first or "epoch" in next(csv.reader([first]), [])
            if not headed:
                dropped += 1
                warn_user(f"{path} line 1 is no header (damaged): its rows are read as "
                          "cnnlab's columns", RunLogWarning)
            fh.seek(0)
            reader = csv.DictReader(fh, None if headed else METRIC_COLUMNS)
            for row in reader:
                row = {k: v for k, v in row.items() if k is not None}  # fields too many
                if not headed and reader.line_num == 1 and not isinstance(
                        _number(row.get("epoch")), int):
                    continue  # the damaged header itself: said above, not again as a row
                # (a first line that is a row, its header lost before it, is kept)
                if any(_damaged(v) for v in row.values()):
                    dropped += 1
                    warn_user(f"{path} line {reader.line_num}: dropped a row that is not "
                              "text (damaged)", RunLogWarning)
                    continue
                row = {k: _number(v) for k, v in row.items()}
                if isinstance(row.get("epoch"), int):
                    rows.append(row)
                    continue
                dropped += 1
                warn_user(f"{path} line {reader.line_num}: dropped a row whose epoch is not a "
                          f"whole number (epoch {row.get('epoch')!r})", RunLogWarning)
        return rows, dropped

    def truncate_after(self, epoch: int) -> None:
        """On resume: drop rows of epochs that the checkpoint does not include."""
        self.rows = [r for r in self.rows if r["epoch"] <= epoch]
        self._rewrite()
        self._drop_class_metrics(lambda e: e > epoch)

    def forget_evaluation(self, epoch: int) -> None:
        """On resume: ``epoch``'s row without its test results, and its class metrics
        gone (a time budget's stop evaluated it, off the ``eval_every`` schedule: the run
        trains on as one never stopped, which skipped it). Its clocks stay: the time was
        spent. TensorBoard, opened with ``purge_step=epoch``, gets the row again."""
        for row in self.rows:
            if row["epoch"] == epoch:
                row["test_loss"] = row["test_acc"] = math.nan
                self._add_to_tensorboard(row)
        self._rewrite()
        self._drop_class_metrics(lambda e: e == epoch)

    def _drop_class_metrics(self, dropped) -> None:
        """class_metrics.jsonl without the lines of the epochs ``dropped`` says, nor any
        that is no record (:func:`_epoch_of` has said so)."""
        path = self.path.with_name("class_metrics.jsonl")

        def write_kept(tmp: str) -> None:  # line by line: 1,000 classes are 3 MB a line
            with open(path, encoding="utf-8") as lines, \
                    open(tmp, "w", encoding="utf-8", newline="") as out:
                for line in (line.rstrip("\n") for line in lines):
                    if not ((epoch := _epoch_of(line, path)) == math.inf or dropped(epoch)):
                        out.write(f"{line}\n")

        if path.exists():
            atomic_write_bytes(path, write_kept)

    def _rewrite(self) -> None:
        # Atomic: a Ctrl-C here (before training installs its signal handlers) must not
        # leave metrics.csv empty or cut short.
        buf = io.StringIO(newline="")
        # A hand-edited row with a field too many keeps its columns (the extra is None's).
        writer = csv.DictWriter(buf, METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, buf.getvalue())

    def append(self, row: dict) -> None:
        row = {k: row.get(k, "") for k in METRIC_COLUMNS}
        self.rows.append(row)
        line = io.StringIO(newline="")
        csv.DictWriter(line, METRIC_COLUMNS).writerow(row)
        self.appends.append(row["epoch"], line.getvalue())  # kept while held (Windows)
        self._add_to_tensorboard(row)

    def _add_to_tensorboard(self, row: dict) -> None:
        if self.tensorboard is not None:
            self.tensorboard.add_row(row)

    def append_class_metrics(self, epoch: int, classes: list[str], per_class_acc: list[float],
                             confusion: list[list[int]]) -> None:
        """Per-class accuracy and the confusion matrix of one epoch, as a JSON line
        (``class_metrics.jsonl``), plus per-class accuracy in TensorBoard (tensorboard_log:
        past 30 classes their spread, lowest and mean, not a curve each)."""
        import json

        line = {"epoch": epoch, "per_class_acc": accuracies_as_json(
            dict(zip(classes, per_class_acc, strict=True))), "confusion": confusion}
        # "\n" on every OS, as its rewrite writes it
        self.class_appends.append(epoch, json.dumps(line) + "\n")
        if self.tensorboard is not None:
            self.tensorboard.add_class_accuracies(epoch, classes, per_class_acc)

    def close(self) -> None:
        """The lines a held file kept waiting written (or kept aside, said), then
        TensorBoard's events."""
        try:
            self.appends.finish()
            self.class_appends.finish()
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()


def _epoch_of(line: str, path: Path) -> float:
    """A class_metrics.jsonl line's epoch; a line that is not one (edited by hand) is
    dropped with a warning rather than making the run impossible to resume."""
    import json

    from cnnlab.train.class_metrics_file import line_epoch

    if (epoch := line_epoch(line)) is not None:
        return epoch  # as cnnlab writes it: the line not parsed whole
    try:
        return json.loads(line)["epoch"] if line else math.inf
    except (ValueError, KeyError, TypeError):
        warn_user(f"{path}: dropped a line that is not a JSON record with an epoch: "
                  f"{line[:60]!r}", RunLogWarning)
        return math.inf


def _kept_rows(path: Path) -> list[dict]:
    """The rows a held metrics.csv kept out of it, in ``metrics.csv.pending``."""
    kept = kept_file(path)
    return MetricsLog._read_rows(kept)[0] if kept.is_file() else []


def _whole_lines(text: str, path: Path) -> str:
    """``text`` without a last line that has no line end: a write cut short (a kill, a
    full disk) whose row reads as wrong numbers (0.8 of 0.866). Left out, as the next
    resume drops it (log_appends.drop_torn_tail), so every reader sees the same rows."""
    if not text or text.endswith("\n"):
        return text
    number = text.count("\n") + 1
    warn_user(f"{path} line {number}: left out a last line with no line end (cut short by "
              "a kill or a full disk, or being written now)", RunLogWarning)
    return text[: text.rfind("\n") + 1]


def _number(text: str):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in text else value


def _damaged(value) -> bool:
    """Whether a field read with ``surrogateescape`` held bytes that are no UTF-8."""
    return isinstance(value, str) and any("\udc80" <= c <= "\udcff" for c in value)


def _check_writable(run_dir: Path) -> None:
    """Refuse a run folder training cannot write in (a read-only mount, a copy it may not
    change), before anything is trained: TensorBoard's writer failed in its own thread,
    with a traceback."""
    if not run_dir.is_dir():
        return  # made by the writes that follow
    problem = write_problem(run_dir)
    if problem:
        raise PermissionError(f"cannot write in the run folder {run_dir} ({problem}): "
                              "training writes its metrics and checkpoints there; copy the "
                              "run to a place you may write in (cp -r) and resume the copy")
    # Its logs are appended to, which takes their own write permission: a read-only one
    # (a run copied from a read-only tree keeps its modes) failed after an epoch's training.
    for name in ("metrics.csv", "class_metrics.jsonl"):
        log = run_dir / name
        if log.is_file() and not os.access(log, os.W_OK):
            raise PermissionError(f"cannot add to {log} (read-only to this user): training "
                                  "adds a line to it each epoch; make the run's files "
                                  f"writable (chmod -R u+w {shell_quote(str(run_dir))}), "
                                  "then run this again")


def _check_log_file(path: Path) -> None:
    """Refuse a run log's name held by a folder (or anything but a file), naming it."""
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a file"
        raise IsADirectoryError(f"{path} is {kind}, not the run's log: move it away (a file "
                                "of that name is written there), then run the command again")
