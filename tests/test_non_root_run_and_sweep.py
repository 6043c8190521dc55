"""A run or a sweep a user other than root may not write in: refused before any work,
the file and the fix named. CI runs as root, whom modes never stop, so the refusals are
simulated (os.access answering no, an open raising PermissionError)."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest

import cnnlab.design.sweep_lock as sweep_lock_module
from cnnlab.design.store import DB_NAME
from cnnlab.design.sweep_lock import sweep_lock
from cnnlab.design.sweep_spec import StoreError
from cnnlab.train.runlog import MetricsLog


def test_a_read_only_metrics_log_is_refused_before_training(tmp_path, monkeypatch):
    # Appending needs the file's own write bit: a run copied with read-only files failed
    # with "[Errno 13] Permission denied: metrics.csv" after its first epoch's training.
    (tmp_path / "metrics.csv").write_text("epoch\n", encoding="utf-8")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p).name == "metrics.csv"
                        else real_access(p, mode))
    with pytest.raises(PermissionError, match=r"metrics\.csv \(read-only to this user\).*"
                                              rf"chmod -R u\+w {re.escape(str(tmp_path))}"):
        MetricsLog(tmp_path, tensorboard=False)


def test_a_sweep_this_user_may_not_write_in_is_a_store_error(tmp_path, monkeypatch):
    # `design run --resume` of a read-only sweep ended in a traceback (its lock file).
    (tmp_path / DB_NAME).write_bytes(b"")

    def refused(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sweep_lock_module, "open_to_append", refused)
    with pytest.raises(StoreError, match=rf"cannot write in the sweep {re.escape(str(tmp_path))} "
                                         r"\(permission denied\).*cp -r"):
        with sweep_lock(tmp_path):
            pass


def test_a_sweep_on_a_read_only_disk_is_a_store_error(tmp_path, monkeypatch):
    # Not only PermissionError: EROFS (a read-only mount) escaped as a traceback.
    (tmp_path / DB_NAME).write_bytes(b"")

    def refused(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(sweep_lock_module, "open_to_append", refused)
    with pytest.raises(StoreError, match=r"\(read-only file system\).*cp -r"):
        with sweep_lock(tmp_path):
            pass
