"""Every sqlite3 error a sweep store can meet reads as a StoreError naming the file, what
happened and what to do; `cnnlab design ...` ends with it and exit status 1, never a
traceback. Locked: another process holds the file past the store's wait (a write, a read,
opening it); the disk full; the sweep's folder removed while in use; a damaged page met
after opening. The wait is cut to 0.05 s (LOCK_TIMEOUT_S): no test waits SQLite's 30 s."""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
import time

import pytest
from design_helpers import shaped_spec
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.design import store as store_module
from cnnlab.design.store import StoreError, TrialStore


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.05)


@contextlib.contextmanager
def held(directory, how: str):
    """Another connection holding the store in a ``how`` (IMMEDIATE: other writers wait;
    EXCLUSIVE: readers too) transaction, as another process writing it would."""
    holder = sqlite3.connect(directory / store_module.DB_NAME, isolation_level=None)
    holder.execute(f"BEGIN {how}")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def new_sweep(directory, n: int = 2) -> None:
    with TrialStore(directory, create=True) as store:
        store.init_sweep(shaped_spec(), n)


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["design", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)  # a raw sqlite3 error escaped the command
    return result.exit_code, " ".join(result.output.split())


def assert_locked(said: str, directory) -> None:
    assert f"{directory / store_module.DB_NAME} is locked by another process" \
        in said, said
    # the program that holds it named as a sweep's own writes cannot, not `design status`
    # (refused the same way), and the command that names it
    assert "likely another program holds it in a transaction" in said, said
    assert f"`lsof {directory / store_module.DB_NAME}`" in said and "try again when it is " \
        "done" in said and "design status" not in said, said


def test_a_write_past_the_lock_wait_says_the_store_is_locked(tmp_path, short_wait):
    new_sweep(tmp_path)
    with TrialStore(tmp_path) as store, held(tmp_path, "IMMEDIATE"):
        started = time.monotonic()
        for write in (lambda: store.mark_running(0), lambda: store.set_meta({"n": 3}),
                      lambda: store.record(0, "done", error_pct=1.0)):
            with pytest.raises(StoreError) as caught:
                write()
            assert_locked(str(caught.value), tmp_path)
            assert "waited" not in str(caught.value) and "in 0.05 s" in str(caught.value)
        assert time.monotonic() - started < 5
        assert store.counts()["pending"] == 2  # reads go on meanwhile
    with TrialStore(tmp_path) as store:  # and nothing was half-written
        assert store.counts()["pending"] == 2 and store.planned() == 2


def test_reads_and_opening_past_the_lock_wait_say_the_store_is_locked(tmp_path, short_wait):
    new_sweep(tmp_path)
    with TrialStore(tmp_path) as store, held(tmp_path, "EXCLUSIVE"):
        for read in (store.counts, store.trials, store.meta, lambda: store.trial(0)):
            with pytest.raises(StoreError) as caught:
                read()
            assert_locked(str(caught.value), tmp_path)
        with pytest.raises(StoreError) as caught:
            TrialStore(tmp_path)
        assert_locked(str(caught.value), tmp_path)


def test_design_status_and_run_of_a_locked_store_exit_1_with_the_message(tmp_path, short_wait):
    new_sweep(tmp_path)
    with held(tmp_path, "EXCLUSIVE"):
        code, said = invoke("status", tmp_path)
    assert code == 1, said
    assert_locked(said, tmp_path)
    with held(tmp_path, "IMMEDIATE"):  # opened and read; its first write waits
        code, said = invoke("run", "--resume", tmp_path, "--n", "3", "--threads", "1")
    assert code == 1, said
    assert_locked(said, tmp_path)


def test_a_full_disk_says_so_and_keeps_what_was_recorded(tmp_path):
    new_sweep(tmp_path)
    with TrialStore(tmp_path) as store:
        store.record(0, "done", error_pct=10.0)
        # SQLite's own cap on the file's pages stands in for a disk with no room left.
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreError) as caught:
            store.record(1, "failed", message="x" * 100_000)
    said = str(caught.value)
    assert f"{tmp_path / store_module.DB_NAME} could not be written: the disk holding it " \
           "is full" in said and "Free some space there" in said, said
    # pasted as printed: --resume takes the sweep's folder (it named none)
    assert f"`cnnlab design run --resume {tmp_path}` goes on" in said, said
    with TrialStore(tmp_path) as store:
        assert store.counts() == {"pending": 1, "running": 0, "done": 1, "failed": 0}


def test_a_full_disk_when_a_sweep_is_created_says_so(tmp_path, monkeypatch):
    def no_room(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("cnnlab.atomic.new_temp_file", no_room)
    with pytest.raises(StoreError, match="the disk holding it is full"):
        TrialStore(tmp_path / "sweep", create=True)


def test_a_sweep_folder_removed_while_in_use_says_so(tmp_path):
    new_sweep(tmp_path / "sweep")
    with TrialStore(tmp_path / "sweep") as store:
        shutil.rmtree(tmp_path / "sweep")
        with pytest.raises(StoreError) as caught:
            store.mark_running(0)
    said = str(caught.value)
    assert f"{tmp_path / 'sweep' / store_module.DB_NAME} was removed or moved while in use " \
           "(its folder is gone" in said, said
    assert "permissions" not in said, said  # SQLite calls it "readonly": it is not


def test_a_damaged_page_met_after_opening_is_a_damaged_store(tmp_path):
    new_sweep(tmp_path, n=200)  # trials spread over many pages
    path = tmp_path / store_module.DB_NAME
    data = bytearray(path.read_bytes())
    data[-4096:] = b"\xff" * 4096  # the last page: one of the trials', not the meta's
    path.write_bytes(bytes(data))
    with TrialStore(tmp_path) as store:  # opens: the schema and meta are whole
        with pytest.raises(StoreError, match="is damaged or not a cnnlab sweep"):
            store.trials()
    code, said = invoke("status", tmp_path)
    assert code == 1 and "cannot be read as a sweep store" in said, said


def test_a_folder_where_the_sweep_lock_goes_is_named_not_the_sweep(tmp_path):
    # It read "cannot write in the sweep DIR (is a directory)... copy it to a place you
    # may write in": the sweep was writable, its lock's name was taken by a folder.
    from cnnlab.design.store import DB_NAME
    from cnnlab.design.sweep_lock import sweep_lock

    (tmp_path / DB_NAME).write_bytes(b"")
    (tmp_path / ".lock").mkdir()
    with pytest.raises(StoreError, match=r"\.lock, where a sweep keeps its lock file, is a "
                                         r"folder: move or remove it") as caught:
        with sweep_lock(tmp_path):
            pass
    assert "cannot write in the sweep" not in str(caught.value)


def test_the_calling_code_s_mistakes_are_not_a_damaged_store(tmp_path):
    # A store used after close() read "damaged or not a cnnlab sweep. Restore it from a
    # copy": the file was whole, the mistake the caller's (sqlite3's ProgrammingError).
    new_sweep(tmp_path)
    with TrialStore(tmp_path) as store:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        store.counts()
    with TrialStore(tmp_path) as store, pytest.raises(sqlite3.InterfaceError):
        with store.conn.translated():  # a value sqlite3 cannot bind: the caller's too
            raise sqlite3.InterfaceError("Error binding parameter 1")


def test_the_store_s_connection_is_still_sqlite3_s_beyond_its_errors(tmp_path):
    new_sweep(tmp_path, n=3)
    with TrialStore(tmp_path) as store:
        assert store.conn.execute("UPDATE trials SET attempts = 0").rowcount == 3
        assert store.conn.total_changes >= 3
        with store.conn:  # a transaction, as sqlite3's connection gives one
            store.conn.execute("UPDATE trials SET attempts = 1 WHERE id = 0")


def test_a_disk_that_fails_is_not_called_a_damaged_store(tmp_path):
    # SQLite's "disk I/O error" (a network mount gone, a failing disk): the file may be
    # whole, so not "restore it from a copy".
    from cnnlab.design.store_errors import store_error

    new_sweep(tmp_path)
    said = str(store_error(tmp_path / store_module.DB_NAME,
                           sqlite3.OperationalError("disk I/O error")))
    assert "its disk or file system failed" in said and "Restore" not in said, said
