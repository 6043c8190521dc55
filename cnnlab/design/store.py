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

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from cnnlab.design import spaces
from cnnlab.design.store_errors import (
    StoreConnection,
    damaged_error,
    damaged_value_error,
    other_schema_error,
    store_error,
    unwritable,
)
from cnnlab.design.sweep_spec import StoreError, SweepError, SweepSpec, plan_trials, sweep_identity
from cnnlab.shell_words import shell_quote

DB_NAME = "trials.sqlite"
SCHEMA_VERSION = 1
STATUSES = ("pending", "running", "done", "failed")
# Seconds a statement waits for another process's lock on the store before it ends in
# "locked" (a StoreError): the driver holds its write lock for milliseconds per trial.
LOCK_TIMEOUT_S = 30.0

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
    code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL
);
"""
_JSON_COLUMNS = ("sample", "config")
# code: the fingerprint of the code that trained the trial (design/code_check.py), JSON;
# NULL for a trial trained before cnnlab recorded it.
_RESULT_COLUMNS = ("error_pct", "test_acc", "best_test_acc", "train_time_s", "wall_time_s",
                   "epochs", "message", "worker", "code")
# Columns added since the first schema: a store created before gets them when opened.
_ADDED_COLUMNS = {"code": "TEXT"}
_INSERT_TRIAL = ("INSERT OR IGNORE INTO trials (id, space, sample, config, macs, params, acts, "
                 "seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _trial_row(t: dict) -> tuple:
    """A planned trial (plan_trials' dict) as _INSERT_TRIAL's values."""
    return (t["id"], t["space"], json.dumps(t["sample"]), json.dumps(t["config"]),
            int(t["macs"]), int(t["params"]), int(t["acts"]), int(t["seed"]))


def make_folder(path: Path, option: str) -> None:
    """``mkdir -p`` that names the path and the option to change instead of an OSError."""
    if path.exists() and not path.is_dir():
        raise SweepError(f"{path} is a file, not a folder: pick another {option}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file further up, no permission, read-only disk
        raise SweepError(f"cannot create the folder {path}: {exc.strerror or exc}; pick "
                         f"another {option}") from None


class TrialStore:
    """A sweep's SQLite database in the folder ``directory``; ``create`` makes it there
    if missing (otherwise a missing one is a SweepError). Use as a context manager, or
    call :meth:`close`."""

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
            raise StoreError(f"{self.path} is not a file: a sweep's store is one SQLite file; "
                             "move that away")
        if self.path.exists() and self.path.stat().st_size == 0:  # never given a schema here
            raise StoreError(f"{self.path} is empty: not a sweep (a copy cut short?). "
                             "Restore it from a copy, or start a new sweep with another --out")
        make_folder(self.directory, "--out")
        if not self.path.exists():
            self._create_whole()
        # isolation_level=None: autocommit, with explicit BEGIN/COMMIT below, so a
        # write is on disk when the method returns. Every statement goes through
        # StoreConnection: its sqlite3 errors (locked, disk full, ...) read as StoreErrors.
        try:
            raw = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc) from None
        raw.row_factory = sqlite3.Row
        self.conn = StoreConnection(raw, self.path, LOCK_TIMEOUT_S)
        try:
            self.conn.executescript(_SCHEMA)
            version = self.meta().get("schema_version")
        except StoreError:
            self.conn.close()
            raise
        except ValueError as exc:  # a value sqlite3 cannot hand back to Python
            self.conn.close()
            raise damaged_error(self.path, exc) from None
        if version is not None and version != SCHEMA_VERSION:
            raise self._other_schema(version)
        self._add_columns()

    def _other_schema(self, version) -> SweepError:
        """The refusal of another schema version, the store closed."""
        created = self.meta().get("created")
        self.conn.close()
        return other_schema_error(self.path, version, created, SCHEMA_VERSION)

    def _add_columns(self) -> None:
        """Give a store made by an older cnnlab the columns added since (NULL in its rows;
        an older cnnlab reading it passes them over). Where it cannot be written (`design
        status` on a read-only copy) its rows are read without them."""
        have = {r["name"] for r in self.conn.execute("PRAGMA table_info(trials)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                try:  # raw: two of its errors are no error here
                    self.conn.raw.execute(f"ALTER TABLE trials ADD COLUMN {name} {kind}")
                except sqlite3.Error as exc:
                    # Another process added it first; or read-only: read as NULL.
                    if "duplicate column" not in str(exc) and not unwritable(exc):
                        self.conn.close()
                        raise store_error(self.path, exc, LOCK_TIMEOUT_S) from None

    # context manager -----------------------------------------------------------
    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def __repr__(self) -> str:
        # A notebook's last value: the sweep's folder and how far it is, not an address.
        try:
            shown = ", ".join(f"{n} {status}" for status, n in self.counts().items() if n)
        except (StoreError, sqlite3.Error):  # closed, or the file gone: a repr never raises
            shown = "closed"
        return f"TrialStore({str(self.directory)!r}: {shown or 'no trials'})"

    def _create_whole(self) -> None:
        """Create the store file with its schema under a temporary name, then link it into
        place. sqlite3.connect leaves a 0-byte file for a few milliseconds until the schema
        is written, and another process opening the sweep then (``design status``, a
        watcher) was told it "is empty: not a sweep". Now it finds no file, or a whole one.
        Two creators at once: the first link wins, and the other opens that file."""
        import os

        from cnnlab.atomic import new_temp_file

        try:  # a plain write's permissions (not mkstemp's 0600): others may read the sweep
            tmp = new_temp_file(self.path)
        except OSError as exc:  # an unwritable folder, a full disk: as sqlite3 would say
            raise store_error(self.path, exc) from None
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.executescript(_SCHEMA)
            except sqlite3.Error as exc:  # a full disk
                raise store_error(self.path, exc) from None
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

    def _write(self, sql: str, rows: Iterable[tuple] | tuple = ()) -> None:
        rows = list(rows) if not isinstance(rows, tuple) else [rows]
        with self._transaction():
            if len(rows) == 1:
                self.conn.execute(sql, rows[0])
            else:
                self.conn.executemany(sql, rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE: other writers wait, up to the
        connection's timeout, then a StoreError), committed when the block ends, rolled
        back if it raises."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            # Not after a COMMIT that happened: a Ctrl-C during it is raised once it
            # returns, and "cannot rollback - no transaction is active" replaced it.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # meta ----------------------------------------------------------------------
    def meta(self) -> dict:
        """The sweep's metadata: spec, planned n, where it was created and run, ..."""
        rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        return {r["key"]: self._decoded(r["value"], f"its {r['key']}") for r in rows}

    def _decoded(self, text, what: str):
        """JSON the store wrote; else a clear error, not a traceback."""
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise self._damaged(what, exc) from None

    def _damaged(self, what: str, exc: Exception) -> StoreError:
        return damaged_value_error(self.path, what, exc)

    def set_meta(self, values: dict) -> None:
        """Store each key of ``values`` (as JSON) in the metadata, replacing it."""
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in {"schema_version": SCHEMA_VERSION,
                                                     **values}.items()])

    def spec(self) -> SweepSpec:
        """The SweepSpec the sweep was created with."""
        stored = self.meta().get("spec")
        if stored is None:
            raise StoreError(f"{self.directory} holds no sweep spec (its creation was "
                             "interrupted): run the command that created it again")
        try:
            return SweepSpec.from_dict(stored)
        except (TypeError, ValueError, AttributeError) as exc:  # keys or kinds no cnnlab wrote
            raise self._damaged("its sweep spec", exc) from None

    def planned(self) -> int:
        """How many trials the sweep is meant to have (some may not be drawn yet)."""
        try:
            return int(self.meta().get("n", 0))
        except (TypeError, ValueError) as exc:
            raise self._damaged("its number of trials", exc) from None

    def init_sweep(self, spec: SweepSpec, n: int, created: dict | None = None) -> dict:
        """Make this the sweep ``spec`` with at least ``n`` trials, drawing missing ones.

        A new store records the spec; an existing one must hold the same spec (a
        different one is an error naming the differences). ``created``: what to record
        about where it was created (a new store only). Returns status counts.
        """
        stored = self.meta().get("spec")
        if stored is None:
            # Drawn before anything is stored: a band no network of the space falls in
            # must leave no sweep behind that a wider band would then be refused as.
            if self._create_sweep(spec, n, created, plan_trials(spec, 0, n)):
                return self.counts()
            stored = self.meta().get("spec")  # another command created it meanwhile
        if (was := sweep_identity(self.spec().to_dict())) != (  # a damaged one: named
                asked := sweep_identity(spec.to_dict())):
            def shown(key: str, value) -> str:  # None: a band or subset not given
                return "none" if value is None else \
                    spaces.format_band(value) if key == "macs" else repr(value)
            # The recipe's fields one by one: the whole dict twice hid the one that differed.
            for side in (was, asked):
                side.update({f"train {k}": v for k, v in side.pop("train").items()})
            diffs = [f"{k}: stored {shown(k, was.get(k))}, asked {shown(k, asked.get(k))}"
                     for k in sorted(set(was) | set(asked)) if was.get(k) != asked.get(k)]
            raise SweepError(f"{self.directory} holds a different sweep ({'; '.join(diffs)}); "
                             "resume it with `cnnlab design run --resume "
                             f"{shell_quote(str(self.directory))}` "
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
            # drawn as its first trials were, or not at all
            self.add_trials(plan_trials(spec, have, n, self.trial(0) if have else None))
        return self.counts()

    def _create_sweep(self, spec: SweepSpec, n: int, created: dict | None,
                      first: list[dict]) -> bool:
        """Store the spec and its first trials in one transaction, unless a spec is stored
        by now (False): two `design run --out DIR` of one new folder both found no spec,
        drew their trials, and the later one's spec replaced the first one's over the
        first one's trials, which then trained under the other spec's name."""
        values = {"schema_version": SCHEMA_VERSION, "spec": spec.to_dict(),
                  "created": created or {}, "n": n}
        with self._transaction():
            if self.conn.execute("SELECT 1 FROM meta WHERE key = 'spec'").fetchone():
                return False
            self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  [(k, json.dumps(v)) for k, v in values.items()])
            self.conn.executemany(_INSERT_TRIAL, [_trial_row(t) for t in first])
        return True

    # trials --------------------------------------------------------------------
    def add_trials(self, trials: Iterable[dict]) -> int:
        """Insert planned trials (id, space, sample, config, macs, params, acts, seed);
        ids already present are left alone. Returns how many were new."""
        before = self.count()
        rows = [_trial_row(t) for t in trials]
        if rows:
            self._write(_INSERT_TRIAL, rows)
        return self.count() - before

    def count(self, status: str | None = None) -> int:
        """How many trials (with this ``status``, if given)."""
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM trials WHERE status = ?",
                                 (status,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Status -> number of trials, every status present (0 where none)."""
        rows = self.conn.execute("SELECT status, COUNT(*) AS n FROM trials GROUP BY status")
        out = dict.fromkeys(STATUSES, 0)
        out.update({r["status"]: r["n"] for r in rows})
        return out

    def trials(self, status: str | None = None) -> list[dict]:
        """Rows as dicts, by id (those with this ``status``, if given); ``sample`` and
        ``config`` decoded from JSON."""
        if status is None:
            cursor = self.conn.execute("SELECT * FROM trials ORDER BY id")
        else:
            cursor = self.conn.execute("SELECT * FROM trials WHERE status = ? ORDER BY id",
                                       (status,))
        return [self._row(r) for r in cursor.fetchall()]

    def _row(self, row) -> dict:
        out = {"code": None, **dict(row)}  # None: trained before it was recorded
        out.update({k: self._decoded(row[k], f"trial {row['id']}'s {k}")
                    for k in _JSON_COLUMNS})
        if out["code"] is not None:
            out["code"] = self._decoded(out["code"], f"trial {row['id']}'s code")
        return out

    def trial(self, trial_id: int) -> dict:
        """Trial ``trial_id``'s row, as :meth:`trials` gives it; KeyError if none."""
        row = self.conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()
        if row is None:
            raise KeyError(f"no trial {trial_id} in {self.path}")
        return self._row(row)

    def mark_running(self, trial_id: int, worker: str = "") -> None:
        """Trial ``trial_id`` started on ``worker``: one more attempt counted."""
        self._write("UPDATE trials SET status = 'running', worker = ?, started_at = ?, "
                    "attempts = attempts + 1 WHERE id = ?", (worker, time.time(), trial_id))

    def put_back(self, trial_ids: Iterable[int]) -> None:
        """Running trials (``trial_ids``) stopped through no fault of their own (the sweep
        interrupted;
        another trial's worker died) back to ``pending``, the attempt ``mark_running``
        counted taken back. One write: a Ctrl-C between two left a trial 'running' and
        charged, or took its attempt back twice; done again, it changes nothing."""
        self._write("UPDATE trials SET status = 'pending', attempts = MAX(attempts - 1, 0) "
                    "WHERE id = ? AND status = 'running'", [(i,) for i in trial_ids])

    def mark_pending(self, trial_ids: Iterable[int]) -> None:
        """Trials ``trial_ids`` back to 'pending', attempts kept (see :meth:`put_back`)."""
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
        """Trials left ``running`` by a sweep that was killed go back to ``pending``; their ids."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM trials WHERE status = 'running'")]
        if ids:
            self.mark_pending(ids)
        return ids

    def record(self, trial_id: int, status: str, **result) -> None:
        """Store trial ``trial_id`` finished: ``status`` 'done' or 'failed' plus its
        ``result`` columns."""
        if status not in ("done", "failed"):
            raise ValueError(f"a finished trial is 'done' or 'failed', not {status!r}")
        unknown = set(result) - set(_RESULT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown result field(s) {sorted(unknown)}; known: "
                             f"{', '.join(_RESULT_COLUMNS)}")
        if result.get("code") is not None:
            result["code"] = json.dumps(result["code"])
        cols = ["status", "finished_at", *result]
        values = [status, time.time(), *result.values()]
        assignments = ", ".join(f"{c} = ?" for c in cols)
        self._write(f"UPDATE trials SET {assignments} WHERE id = ?", (*values, trial_id))
