"""A design command's exit status tells "change the request" (2) from "could not be done"
(1), as every cnnlab command: an --out it cannot make asks for another --out (2, as
train's --out-dir); a store of a schema no cnnlab writes, or locked by another process,
is a store that cannot be used now (1). And a band as counts are written (1.20T) is one
--macs reads."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.design import store as store_module
from cnnlab.design.spaces import parse_band
from cnnlab.design.store import StoreError, TrialStore

TINY = ["--space", "anynetx_a", "--epochs", "1", "--macs", "0.1M-1M", "--data", "synthetic",
        "--threads", "1", "--n", "1", "--train-subset", "64"]


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["design", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def test_an_out_folder_it_cannot_make_asks_for_another_out(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sweep"):
        code, said = invoke("run", *TINY, "--out", out)
        assert code == 2 and "afile" in said, said


@pytest.mark.parametrize(("version", "words"), [("x", "which no cnnlab writes"),
                                               (2, "upgrade cnnlab")])  # as Ray missing
def test_a_store_of_another_schema_could_not_be_read(tmp_path, version, words):
    with TrialStore(tmp_path, create=True):
        pass
    with sqlite3.connect(tmp_path / store_module.DB_NAME) as conn:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     ("schema_version", json.dumps(version)))
    conn.close()
    with pytest.raises(StoreError):
        TrialStore(tmp_path)
    code, said = invoke("status", tmp_path)
    assert code == 1 and words in said, said


def test_a_store_locked_by_another_process_could_not_be_read(tmp_path, monkeypatch):
    TrialStore(tmp_path, create=True).close()
    holder = sqlite3.connect(tmp_path / store_module.DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing it
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.05)  # not the store's 30 s wait
    try:
        code, said = invoke("status", tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1 and "is locked by another process" in said, said


def test_a_band_written_as_counts_are_is_read():
    assert parse_band("300G-1.20T") == (3e11, 1.2e12)
