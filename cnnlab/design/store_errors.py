"""What a sweep store's SQLite errors mean to a user. Every statement the store
(:mod:`cnnlab.design.store`) runs goes through :class:`StoreConnection`, so each sqlite3
error it meets (the file locked by another process past the wait, a full disk, a
read-only file, the sweep's folder removed while in use, a damaged file) reads as a
StoreError that names the file, says what happened and what to do: `cnnlab design ...`
ends with it and exit status 1, and Python callers catch one class, not sqlite3's."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from cnnlab.atomic import DISK_FULL
from cnnlab.design.sweep_spec import StoreError
from cnnlab.shell_words import shell_quote

# What sqlite3 says of each kind, in its own words (matched in lower case).
_LOCKED = ("database is locked", "database table is locked", "database schema is locked",
           "database is busy")
_FULL = ("database or disk is full", "disk is full")
_UNWRITABLE = ("readonly", "unable to open")


def unwritable(exc: Exception) -> bool:
    """A write refused by permissions or a read-only disk (or a file SQLite could not
    open): the store may well be whole."""
    return any(words in str(exc).lower() for words in _UNWRITABLE)


def locked_error(path: Path, lock_timeout_s: float | None) -> StoreError:
    # A sweep's own writes hold the lock for milliseconds: what holds it this long is
    # another program (the hint named `design status`, itself refused the same way).
    how_long = f" in {lock_timeout_s:g} s" if lock_timeout_s else ""
    return StoreError(f"{path} is locked by another process, which did not let go"
                      f"{how_long}. A sweep's own writes take milliseconds: likely another "
                      "program holds it in a transaction (a sqlite3 shell, a database "
                      "browser, a backup reading it through SQLite; on Linux and macOS "
                      f"`lsof {shell_quote(str(path))}` names it). Close that program, or "
                      "try again when it is done")


def unwritable_error(path: Path, exc: Exception) -> StoreError:
    # Permissions or a read-only disk: the store may well be whole, so not "damaged".
    return StoreError(f"{path} cannot be opened for writing ({exc}): check that you may "
                      "write it and its folder (permissions, a read-only disk), or copy the "
                      "sweep somewhere you can")


def damaged_error(path: Path, exc: Exception) -> StoreError:
    # Never rewritten here: whatever it still holds is the user's to recover.
    return StoreError(f"{path} cannot be read as a sweep store ({exc}): it is damaged or "
                      "not a cnnlab sweep. Restore it from a copy, or start a new sweep with "
                      "another --out")


def damaged_value_error(path: Path, what: str, exc: Exception) -> StoreError:
    """A value the store holds (``what``) that no cnnlab wrote."""
    return StoreError(f"{path}: {what} is damaged ({type(exc).__name__}: {exc}); a "
                      "hand-edited or corrupted store: restore it from a copy")


def other_schema_error(path: Path, version, created, readable: int) -> StoreError:
    """The refusal of a store of schema ``version`` (this cnnlab reads ``readable``; every
    cnnlab so far writes 1). Its creator's date is named (``created``, its meta): its
    version is 0.1.0 for every commit so far."""
    created = created if isinstance(created, dict) else {}
    by, when = created.get("cnnlab"), str(created.get("date") or "")[:10]
    written = f" (created by cnnlab {by}{f' on {when}' if when else ''})" if by else ""
    has = f"{path} has sweep schema version {version!r}{written}"
    if isinstance(version, int) and version > readable:
        return StoreError(f"{has}, newer than this cnnlab's {readable}: upgrade cnnlab "
                          "(pip install -U cnnlab, or git pull in a checkout)")
    return StoreError(f"{has}, which no cnnlab writes (this one reads {readable}): "
                      "damaged? Restore it from a copy, or use another --out")


def store_error(path: Path, exc: Exception, lock_timeout_s: float | None = None) -> StoreError:
    """The StoreError a user reads for ``exc``, an sqlite3 error met using the store
    ``path`` (or the OSError of making its file). ``lock_timeout_s``: seconds SQLite waits for
    a lock."""
    said = str(exc).lower()
    full = any(words in said for words in _FULL) or getattr(exc, "errno", 0) in DISK_FULL
    if isinstance(exc, OSError) and not full:  # the folder may not be written in
        return unwritable_error(path, exc)
    if any(words in said for words in _LOCKED):
        return locked_error(path, lock_timeout_s)
    if full:
        return StoreError(f"{path} could not be written: the disk holding it is full "
                          f"({exc}). Free some space there and run this again; the trials "
                          "recorded so far are kept (`cnnlab design run --resume "
                          f"{shell_quote(str(path.parent))}` goes on)")
    if not path.exists():  # SQLite's word for a file unlinked under it is "readonly"
        gone = "is gone" if not path.parent.exists() else f"no longer holds {path.name}"
        return StoreError(f"{path} was removed or moved while in use (its folder {gone}; "
                          f"sqlite3: {exc}): put the sweep back where it was, or start it "
                          "again with `cnnlab design run ... --out DIR`")
    if unwritable(exc):
        return unwritable_error(path, exc)
    if "disk i/o error" in said:
        return StoreError(f"{path} could not be read or written ({exc}): its disk or file "
                          "system failed (a network mount gone, a failing disk?); check it, "
                          "then run this again")
    return damaged_error(path, exc)


class _Rows:
    """A cursor whose later rows' errors (read as they are fetched) read as StoreErrors."""

    def __init__(self, cursor: sqlite3.Cursor, conn: StoreConnection):
        self._cursor, self._conn = cursor, conn

    def __getattr__(self, name: str):  # rowcount, description, lastrowid: the cursor's
        return getattr(self._cursor, name)

    def fetchone(self):
        with self._conn.translated():
            return self._cursor.fetchone()

    def fetchall(self) -> list:
        with self._conn.translated():
            return self._cursor.fetchall()

    def __iter__(self):
        return iter(self.fetchall())


class StoreConnection:
    """The store's sqlite3 connection (``raw``), its errors translated by
    :func:`store_error`; ``lock_timeout_s``: the connection's, for the message. What
    else a sqlite3 connection or cursor has (``rowcount``, ``commit``, ``with conn:``)
    is theirs, untranslated."""

    def __init__(self, raw: sqlite3.Connection, path: Path, lock_timeout_s: float | None):
        self.raw, self.path, self.lock_timeout_s = raw, path, lock_timeout_s

    def __getattr__(self, name: str):
        return getattr(self.raw, name)

    def __enter__(self):
        return self.raw.__enter__()

    def __exit__(self, *exc_info):
        return self.raw.__exit__(*exc_info)

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """An sqlite3 error raised in the block is raised as its StoreError."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # the calling code's mistake (a closed store, a value sqlite3 cannot
            #        bind), not the file's: "damaged" sent the user to restore a whole file
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.lock_timeout_s) from None

    def execute(self, sql: str, params=()) -> _Rows:
        with self.translated():
            return _Rows(self.raw.execute(sql, params), self)

    def executemany(self, sql: str, rows) -> None:
        with self.translated():
            self.raw.executemany(sql, rows)

    def executescript(self, script: str) -> None:
        with self.translated():
            self.raw.executescript(script)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def close(self) -> None:
        self.raw.close()
