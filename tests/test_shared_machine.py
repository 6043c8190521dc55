"""cnnlab on a machine many users share (a class's JupyterHub, a lab server) or lock down
(a container with no home, a read-only folder): a place this user may not read or write
is passed over or named with the fix, never a bare PermissionError or RuntimeError.

Root reads and writes everything, so where the suite runs as root another user's private
file is faked: os.access answers for it as it would for that user.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from cnnlab.atomic import write_problem
from cnnlab.bench.complexity import ComplexityCache
from cnnlab.data import fashion_mnist as fm
from cnnlab.data import folder_cache
from cnnlab.data.dataset import CacheLocationError, cache_root

AS_ROOT = os.geteuid() == 0


def deny_reading(monkeypatch, folder: Path) -> None:
    """The files in ``folder`` made unreadable to this process, as another user's 0600."""
    if not AS_ROOT:
        for path in folder.iterdir():
            path.chmod(0)
        return
    real = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path).parent == folder and mode & os.R_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def no_home(monkeypatch) -> None:
    """A container's user id: no HOME, no entry in the password database."""
    import pwd

    for name in ("CNNLAB_CACHE", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)

    def unknown(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", unknown)


def test_no_home_names_cnnlab_cache_and_the_system_copy_still_loads(
        data_env, tiny_fashion, monkeypatch) -> None:
    tiny_fashion(fm.SYSTEM_DIR)
    no_home(monkeypatch)
    with pytest.raises(CacheLocationError, match="set CNNLAB_CACHE"):
        cache_root()  # was pathlib's RuntimeError, a traceback in every data command
    assert fm.locate().path == fm.SYSTEM_DIR  # the cache is passed over, not fatal
    assert "set CNNLAB_CACHE" in fm.not_found_message(data_env / "nowhere")
    with pytest.raises(CacheLocationError, match="set CNNLAB_CACHE"):
        fm.download(progress=False)
    cache = ComplexityCache()  # `cnnlab models` counts anew, without a cache
    cache.dirty = True
    cache.save()


def test_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path) -> None:
    # The XDG spec: a relative path is invalid; the cache moved with the current folder.
    monkeypatch.delenv("CNNLAB_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cache_root() == tmp_path / ".cache" / "cnnlab"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "cnnlab"


def test_another_users_private_copy_is_passed_over(data_env, tiny_fashion, monkeypatch) -> None:
    # A shared $CNNLAB_DATA (or cache) holding a classmate's 0600 copy: the readable system
    # copy is used, where a PermissionError ended every command.
    shared, system = data_env / "shared", fm.SYSTEM_DIR
    tiny_fashion(shared, seed=1)
    tiny_fashion(system, n_test=7, seed=2)
    monkeypatch.setenv(fm.ENV_VAR, str(shared))
    deny_reading(monkeypatch, shared)
    with pytest.warns(UserWarning, match=r"\$CNNLAB_DATA .* is passed over"):  # and said
        data = fm.load(download=False)
    assert str(system) in data.source and len(data.test) == 7
    # Given as the only place: named as unreadable, with who can share it.
    message = fm.not_found_message(shared)
    assert "not readable by this user" in message and "chmod a+r" in message
    assert "missing" not in message.splitlines()[1]


def test_download_into_a_folder_not_writable_names_the_folder_and_the_fix(
        data_env, monkeypatch) -> None:
    target = data_env / "read-only"
    target.mkdir()
    if AS_ROOT:
        monkeypatch.setattr(fm, "write_problem",
                            lambda folder: "permission denied" if folder == target else None)
    else:
        target.chmod(0o555)
    try:
        with pytest.raises(fm.DownloadError) as caught:
            fm.download(target, progress=False)
    finally:
        target.chmod(0o755)
    text = str(caught.value)
    # Each mirror's line had said "Permission denied", as if the mirrors refused.
    assert f"cannot write in {target} (permission denied" in text
    assert "--root" in text and "mirror" not in text


def test_a_cache_that_cannot_be_made_names_cnnlab_cache(data_env, monkeypatch) -> None:
    # HOME=/nonexistent, or a read-only home: the fix is the variable that moves the cache.
    (data_env / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("CNNLAB_CACHE", str(data_env / "a-file" / "cache"))
    with pytest.raises(fm.DownloadError, match="cannot create .*set CNNLAB_CACHE"):
        fm.download(progress=False)


@pytest.mark.skipif(AS_ROOT, reason="root writes in a read-only folder")
def test_write_problem_says_why(tmp_path) -> None:
    tmp_path.chmod(0o555)
    try:
        assert write_problem(tmp_path) == "permission denied"
    finally:
        tmp_path.chmod(0o755)
    assert write_problem(tmp_path) is None and not list(tmp_path.iterdir())


def test_another_users_folder_cache_entry_is_told_once_with_the_fix(
        tmp_path, monkeypatch) -> None:
    stem = tmp_path / "folders" / ("0" * 32)
    decoded = folder_cache.DecodedTree(np.zeros((2, 1, 4, 4), np.uint8),
                                       np.array([0, 1], np.int64), ["a", "b"], [], [])
    folder_cache.save_cache(stem, decoded, {"path": "/x", "size": [4, 4], "channels": 1})
    real_open = os.open

    def open_file(path, *args, **kwargs):  # the sidecar is another user's 0600 file
        if Path(path) == stem.with_suffix(".json"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_file)  # the cache reads through a descriptor
    monkeypatch.setattr(folder_cache, "_told_not_readable", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert folder_cache.load_cache(stem, (1, 4, 4)) is None
        assert folder_cache.load_cache(stem, (1, 4, 4)) is None  # a load looks twice
    assert len(caught) == 1
    assert "CNNLAB_CACHE" in str(caught[0].message) and str(stem) in str(caught[0].message)


def test_no_home_decodes_a_folder_without_its_cache(data_env, monkeypatch) -> None:
    # A folder dataset stopped on the cache's location, with use_cache=False too.
    from PIL import Image

    from cnnlab.data import DataWarning
    from cnnlab.data.folder import load_folder

    for i in range(4):
        (data_env / "pets" / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.new("L", (6, 6), 40 * i).save(data_env / "pets" / f"c{i % 2}" / f"{i}.png")
    no_home(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_folder(data_env / "pets", image_size=6, channels=1, use_cache=False,
                           progress=False, val_fraction=0.5)
    assert len(data.train) + len(data.test) == 4
    with pytest.warns(DataWarning, match="decoded without its cache: .*set CNNLAB_CACHE"):
        load_folder(data_env / "pets", image_size=6, channels=1, progress=False,
                    val_fraction=0.5)


def test_no_home_data_cache_names_cnnlab_cache(monkeypatch) -> None:
    # `cnnlab data cache` still ended in the CacheLocationError's traceback.
    from typer.testing import CliRunner

    from cnnlab.cli import app

    no_home(monkeypatch)
    result = CliRunner().invoke(app, ["data", "cache"])
    assert result.exit_code == 1 and "set CNNLAB_CACHE" in result.output, result.output
    assert not isinstance(result.exception, CacheLocationError)
