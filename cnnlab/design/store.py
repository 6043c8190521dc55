"""A sweep on disk: its spec, its planned trials, their results, in one SQLite file.

A sweep directory holds ``trials.sqlite`` with two tables:

- ``meta``: key -> JSON value; what defines the sweep (space, seed, complexity band,
  data, training recipe) and where it ran. Written once, when the sweep is created.
- ``trials``: one row per planned trial. Every trial is drawn and stored as
  ``pending`` before any training starts, so the plan itself survives a crash; a
  row becomes ``running`` when handed to a worker and ``done`` or ``failed`` when
  its result arrives, each change in its own committed transaction.

Only the process driving the sweep writes; workers return results to it. Reading
while a sweep runs (``cnnlab design analyze``) is safe: SQLite gives readers the last
committed state. Nothing read from the file is ever executed (JSON and numbers only).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cnnlab.design import spaces

DB_NAME = "trials.sqlite"
SCHEMA_VERSION = 1
STATUSES = ("pending", "running", "done", "failed")

# error_pct: top-1 test error in percent (100 x (1 - final test accuracy)), the paper's
# unit. message: why a trial failed. macs/params/acts: the analytic complexity.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    space TEXT NOT NULL,
    sample TEXT NOT NULL,
    config TEXT NOT NULL,
    macs INTEGER NOT NULL,
    params INTEGER NOT NULL,
    acts INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error_pct REAL,
    test_acc REAL,
    best_test_acc REAL,
    train_time_s REAL,
    wall_time_s REAL,
    epochs INTEGER,
    message TEXT,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL
);
"""
_JSON_COLUMNS = ("sample", "config")
_RESULT_COLUMNS = ("error_pct", "test_acc", "best_test_acc", "train_time_s", "wall_time_s",
                   "epochs", "message", "worker")


# The paper's recipe (section 3.1): SGD, momentum 0.9, batch 128, lr 0.05 with a cosine
# schedule, weight decay 5e-5. Any TrainConfig field can be changed per sweep.
PAPER_RECIPE = {"optimizer": "sgd", "momentum": 0.9, "lr": 0.05, "schedule": "cosine",
                "weight_decay": 5e-5, "batch_size": 128, "epochs": 10}
TRIAL_MODEL = "anynetx"  # registered in cnnlab.models.anynet; spaces sample its config


class SweepError(ValueError):
    """A sweep that cannot be created, opened or resumed as asked; the message says why."""


# TrainConfig fields a sweep decides itself (train_config below, run_trial's silent
# trainer without a run folder): a value given for one would be overridden without a
# word, so a new sweep refuses it and says what to use instead.
SWEEP_FIELDS = {
    "model": "each trial's network is drawn from --space",
    "model_overrides": "each trial's network is drawn from --space",
    "seed": "trial i trains with seed + i: give the sweep's seed with --seed",
    "data": "use --data",
    "data_root": "use --data-root",
    "preset": "a sweep trains with the paper's recipe; change its fields one by one",
    "quiet": "trials always train silently",
    "out_dir": "trials write no run folder; their results go to trials.sqlite",
    "run_name": "trials write no run folder; their results go to trials.sqlite",
}


def check_train_fields(train: dict) -> None:
    """Refuse TrainConfig fields a sweep sets itself (:data:`SWEEP_FIELDS`), naming each."""
    owned = [k for k in train if k in SWEEP_FIELDS]
    if owned:
        raise SweepError("a sweep sets these training fields itself: "
                         + "; ".join(f"{k} ({SWEEP_FIELDS[k]})" for k in owned))


def make_folder(path: Path, option: str) -> None:
    """``mkdir -p`` that names the path and the option to change instead of an OSError."""
    if path.exists() and not path.is_dir():
        raise SweepError(f"{path} is a file, not a folder: pick another {option}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file further up, no permission, read-only disk
        raise SweepError(f"cannot create the folder {path}: {exc.strerror or exc}; pick "
                         f"another {option}") from None


@dataclass
class SweepSpec:
    """Everything that decides which networks a sweep trains and how.

    ``train`` holds TrainConfig fields (epochs, lr, batch_size, device, ...) laid over
    :data:`PAPER_RECIPE`. ``image_size``, ``in_channels``, ``num_classes`` describe the
    input the complexity band refers to (``runner.create_sweep`` reads them off the data).
    """

    space: str
    seed: int = 0
    macs: tuple[float, float] | None = None
    data: str = "fashion-mnist"
    data_root: str | None = None
    train_subset: int | None = None  # first N training images only (quick CPU sweeps)
    train: dict = field(default_factory=dict)
    # Every trial's X blocks start as the identity (zero final BN gamma). pycls leaves
    # this off for its 10-epoch ImageNet sweeps; at short budgets it decides the result:
    # without it, 14 of 64 AnyNetX_E samples (19-44 blocks) ended one epoch on
    # Fashion-MNIST at 80-89% error; four of them retrained with it: 24-28%
    # (BENCHMARKS.md, issue 8).
    zero_init_last_bn: bool = True
    image_size: int | None = None
    in_channels: int | None = None
    num_classes: int | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["macs"] = list(self.macs) if self.macs else None
        return out

    @classmethod
    def from_dict(cls, values: dict) -> SweepSpec:
        values = dict(values)
        values.setdefault("zero_init_last_bn", False)  # sweeps created before the field
        if values.get("macs"):
            values["macs"] = tuple(values["macs"])
        return cls(**values)

    def train_config(self, overrides: dict, seed: int) -> dict:
        """The TrainConfig fields of one trial (plain values, validated by the worker)."""
        overrides = {**overrides, "zero_init_last_bn": self.zero_init_last_bn}
        return {**PAPER_RECIPE, **self.train, "model": TRIAL_MODEL, "model_overrides": overrides,
                "data": self.data, "data_root": self.data_root, "seed": seed, "quiet": True}


def plan_trials(spec: SweepSpec, start: int, stop: int) -> list[dict]:
    """Trials ``start .. stop-1``: trial i is drawn by ``spaces.sample_trial(space, seed,
    i)`` under the band and trains with seed ``seed + i``."""
    if None in (spec.image_size, spec.in_channels, spec.num_classes):
        raise SweepError("SweepSpec needs image_size, in_channels and num_classes to draw "
                         "trials under a complexity band (runner.create_sweep fills them)")
    rows = []
    for i in range(start, stop):
        s = spaces.sample_trial(spec.space, spec.seed, i, image_size=spec.image_size,
                                in_channels=spec.in_channels, num_classes=spec.num_classes,
                                macs=spec.macs)
        rows.append({"id": i, "space": spec.space, "sample": s.params,
                     "config": spaces.config_to_overrides(s.config), "macs": s.macs,
                     "params": s.complexity["params"], "acts": s.complexity["acts"],
                     "seed": spec.seed + i})
    return rows


def sweep_identity(spec: dict) -> dict:
    spec = SweepSpec.from_dict(spec).to_dict()  # fields added since it was stored, filled in
    # Where a sweep runs is not what it is: a moved dataset (data_root, or a folder:PATH
    # spec's path) or another device (a sweep created on a device it could not use must
    # be able to go on elsewhere) is the same.
    train = {k: v for k, v in spec["train"].items() if k != "device"}
    data = "folder:" if spec["data"].startswith("folder:") else spec["data"]
    return {**{k: v for k, v in spec.items() if k != "data_root"}, "data": data,
            "train": train}


def _unwritable(exc: sqlite3.OperationalError) -> bool:
    return "readonly" in str(exc) or "unable to open" in str(exc)


class TrialStore:
    """A sweep's SQLite database. Use as a context manager, or call :meth:`close`."""

    def __init__(self, directory: str | Path, *, create: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        if self.directory.exists() and not self.directory.is_dir():
            raise SweepError(f"{self.directory} is a file, not a folder: a sweep is a folder "
                             f"holding {DB_NAME}")
        if not create and not self.path.exists():
            what = (f"is not a design sweep (no {DB_NAME})" if self.directory.exists() else
                    "does not exist: give a sweep's folder (design run's --out)")
            raise SweepError(f"{self.directory} {what}; start one with `cnnlab design run "
                             "--space ... --out DIR`")
        if self.path.exists() and not self.path.is_file():
            raise SweepError(f"{self.path} is not a file: a sweep's store is one SQLite file; "
                             "move that away")
        if self.path.exists() and self.path.stat().st_size == 0:  # never given a schema here
            raise SweepError(f"{self.path} is empty: not a sweep (a copy cut short?). "
                             "Restore it from a copy, or start a new sweep with another --out")
        make_folder(self.directory, "--out")
        if not self.path.exists():
            self._create_whole()
        # isolation_level=None: autocommit, with explicit BEGIN/COMMIT below, so a
        # write is on disk when the method returns.
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.executescript(_SCHEMA)
            version = self.meta().get("schema_version")
        except sqlite3.OperationalError as exc:
            self.conn.close()
            if _unwritable(exc):
                raise self._unwritable_error(exc) from None
            if "locked" not in str(exc):
                raise SweepError(f"{self.path} cannot be read as a sweep store ({exc}): it is "
                                 "damaged or not a cnnlab sweep. Restore it from a copy, or "
                                 "start a new sweep with another --out") from None
            raise SweepError(f"{self.path} is locked by another process writing it (a sweep "
                             "or analysis still running?); try again when it is done") from None
        except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: a value not JSON
            self.conn.close()
            # Never rewritten here: whatever it still holds is the user's to recover.
            raise SweepError(f"{self.path} cannot be read as a sweep store ({exc}): it is "
                             "damaged or not a cnnlab sweep. Restore it from a copy, or start "
                             "a new sweep with another --out") from None
        if version is not None and version != SCHEMA_VERSION:
            raise SweepError(f"{self.path} has schema version {version}; this cnnlab reads "
                             f"{SCHEMA_VERSION}")

    # context manager -----------------------------------------------------------
    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _create_whole(self) -> None:
        """Create the store file with its schema under a temporary name, then link it into
        place. sqlite3.connect leaves a 0-byte file for a few milliseconds until the schema
        is written, and another process opening the sweep then (``design status``, a
        watcher) was told it "is empty: not a sweep". Now it finds no file, or a whole one.
        Two creators at once: the first link wins, and the other opens that file."""
        import contextlib
        import os

        from cnnlab.atomic import new_temp_file

        try:  # a plain write's permissions (not mkstemp's 0600): others may read the sweep
            tmp = new_temp_file(self.path)
        except OSError as exc:  # an unwritable folder: as sqlite3 would have said it
            raise self._unwritable_error(exc) from None
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.executescript(_SCHEMA)
            finally:
                conn.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process created it first: that one is the sweep
            except OSError:  # a file system without hard links: a rename, never over one
                if not self.path.exists():
                    os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _unwritable_error(self, exc: Exception) -> SweepError:
        # Permissions or a read-only disk: the store may well be whole, so not "damaged".
        return SweepError(f"{self.path} cannot be opened for writing ({exc}): check that you "
                          "may write it and its folder (permissions, a read-only disk), or "
                          "copy the sweep somewhere you can")

    def _write(self, sql: str, rows: Iterable[tuple] | tuple = ()) -> None:
        rows = list(rows) if not isinstance(rows, tuple) else [rows]
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                if len(rows) == 1:
                    self.conn.execute(sql, rows[0])
                else:
                    self.conn.executemany(sql, rows)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if _unwritable(exc):
                raise self._unwritable_error(exc) from None
            raise

    # meta ----------------------------------------------------------------------
    def meta(self) -> dict:
        rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def set_meta(self, values: dict) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in {"schema_version": SCHEMA_VERSION,
                                                     **values}.items()])

    def spec(self) -> SweepSpec:
        stored = self.meta().get("spec")
        if stored is None:
            raise SweepError(f"{self.directory} holds no sweep spec (its creation was "
                             "interrupted): run the command that created it again")
        return SweepSpec.from_dict(stored)

    def planned(self) -> int:
        """How many trials the sweep is meant to have (some may not be drawn yet)."""
        return int(self.meta().get("n", 0))

    def init_sweep(self, spec: SweepSpec, n: int, created: dict | None = None) -> dict:
        """Make this the sweep ``spec`` with at least ``n`` trials, drawing missing ones.

        A new store records the spec; an existing one must hold the same spec (a
        different one is an error naming the differences). Returns status counts.
        """
        stored = self.meta().get("spec")
        if stored is None:
            # Drawn before anything is stored: a band no network of the space falls in
            # must leave no sweep behind that a wider band would then be refused as.
            first = plan_trials(spec, 0, n)
            self.set_meta({"spec": spec.to_dict(), "created": created or {}, "n": n})
            self.add_trials(first)
            return self.counts()
        elif (was := sweep_identity(stored)) != (asked := sweep_identity(spec.to_dict())):
            def shown(key: str, value) -> str:  # None: a band or subset not given
                return "none" if value is None else \
                    spaces.format_band(value) if key == "macs" else repr(value)
            diffs = [f"{k}: stored {shown(k, was.get(k))}, asked {shown(k, asked.get(k))}"
                     for k in sorted(set(was) | set(asked)) if was.get(k) != asked.get(k)]
            raise SweepError(f"{self.directory} holds a different sweep ({'; '.join(diffs)}); "
                             f"resume it with `cnnlab design run --resume {self.directory}` "
                             "or pick a new --out")
        else:  # the same sweep; where its data lives and where it trains may change
            moved = dict(stored)
            if spec.data_root is not None:
                moved["data_root"] = spec.data_root
            if spec.data.startswith("folder:"):  # a folder's path is in its spec
                moved["data"] = spec.data
            if "device" in spec.train:
                moved["train"] = {**stored["train"], "device": spec.train["device"]}
            if moved != stored:
                self.set_meta({"spec": moved})
        if n > self.planned():  # recorded first: a run killed while drawing can finish
            self.set_meta({"n": n})
        have = self.count()
        if n > have:
            self.add_trials(plan_trials(spec, have, n))
        return self.counts()

    # trials --------------------------------------------------------------------
    def add_trials(self, trials: Iterable[dict]) -> int:
        """Insert planned trials (id, space, sample, config, macs, params, acts, seed);
        ids already present are left alone. Returns how many were new."""
        before = self.count()
        rows = [(t["id"], t["space"], json.dumps(t["sample"]), json.dumps(t["config"]),
                 int(t["macs"]), int(t["params"]), int(t["acts"]), int(t["seed"]))
                for t in trials]
        if rows:
            self._write("INSERT OR IGNORE INTO trials (id, space, sample, config, macs, params, "
                        "acts, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return self.count() - before

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM trials WHERE status = ?",
                                 (status,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) AS n FROM trials GROUP BY status")
        out = dict.fromkeys(STATUSES, 0)
        out.update({r["status"]: r["n"] for r in rows})
        return out

    def trials(self, status: str | None = None) -> list[dict]:
        """Rows as dicts, by id; ``sample`` and ``config`` decoded from JSON."""
        if status is None:
            cursor = self.conn.execute("SELECT * FROM trials ORDER BY id")
        else:
            cursor = self.conn.execute("SELECT * FROM trials WHERE status = ? ORDER BY id",
                                       (status,))
        return [{**dict(r), **{k: json.loads(r[k]) for k in _JSON_COLUMNS}}
                for r in cursor.fetchall()]

    def trial(self, trial_id: int) -> dict:
        row = self.conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()
        if row is None:
            raise KeyError(f"no trial {trial_id} in {self.path}")
        return {**dict(row), **{k: json.loads(row[k]) for k in _JSON_COLUMNS}}

    def mark_running(self, trial_id: int, worker: str = "") -> None:
        self._write("UPDATE trials SET status = 'running', worker = ?, started_at = ?, "
                    "attempts = attempts + 1 WHERE id = ?", (worker, time.time(), trial_id))

    def uncount_attempt(self, trial_ids: Iterable[int]) -> None:
        """Take back the attempt ``mark_running`` counted, for trials stopped through no
        fault of their own (the sweep interrupted; another trial's worker died)."""
        self._write("UPDATE trials SET attempts = MAX(attempts - 1, 0) WHERE id = ?",
                    [(i,) for i in trial_ids])

    def mark_pending(self, trial_ids: Iterable[int]) -> None:
        self._write("UPDATE trials SET status = 'pending' WHERE id = ?",
                    [(i,) for i in trial_ids])

    def retry_failed(self) -> list[int]:
        """Failed trials go back to ``pending``, their last result and attempts cleared,
        to be trained again (``--retry-failed``). Returns their ids."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM trials WHERE status = 'failed'")]
        if ids:
            cleared = ", ".join(f"{c} = NULL" for c in _RESULT_COLUMNS)
            self._write(f"UPDATE trials SET status = 'pending', {cleared}, attempts = 0, "
                        "started_at = NULL, finished_at = NULL WHERE id = ?",
                        [(i,) for i in ids])
        return ids

    def reset_running(self) -> list[int]:
        """Trials left ``running`` by a sweep that was killed go back to ``pending``."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM trials WHERE status = 'running'")]
        if ids:
            self.mark_pending(ids)
        return ids

    def record(self, trial_id: int, status: str, **result) -> None:
        """Store a finished trial: ``status`` 'done' or 'failed' plus result columns."""
        if status not in ("done", "failed"):
            raise ValueError(f"a finished trial is 'done' or 'failed', not {status!r}")
        unknown = set(result) - set(_RESULT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown result field(s) {sorted(unknown)}; known: "
                             f"{', '.join(_RESULT_COLUMNS)}")
        cols = ["status", "finished_at", *result]
        values = [status, time.time(), *result.values()]
        assignments = ", ".join(f"{c} = ?" for c in cols)
        self._write(f"UPDATE trials SET {assignments} WHERE id = ?", (*values, trial_id))
