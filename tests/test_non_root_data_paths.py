"""The data paths as an ordinary user meets them: a cache folder this user may not list,
a $CNNLAB_DATA copy it may not read, folders a scan could not list (and why), and the
fixes printed as one can paste them. CI runs as root, whom modes never stop, so the
refusals are simulated (os.listdir, os.scandir or os.access refused for one path)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path, PurePosixPath

import pytest
from test_non_root_permissions import _images, deny_listing
from test_shared_machine import deny_reading
from typer.testing import CliRunner

from cnnlab.cli.data import _cache_line
from cnnlab.cli.data import app as data_app
from cnnlab.data import DataWarning, folder_cache
from cnnlab.data import fashion_mnist as fm
from cnnlab.data.folder import load_folder

runner = CliRunner()


def _said(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_a_cache_folder_that_cannot_be_listed_is_said_not_empty(tmp_path, monkeypatch):
    # `data cache` said "the folder cache ... is empty" and `data info` "holds 0 entries":
    # the folder (mode 000, or another user's) could not be read at all.
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "my cache"))
    folder = folder_cache.entries_folder()
    folder.mkdir(parents=True)
    deny_listing(monkeypatch, folder, call="listdir")
    result = runner.invoke(data_app, ["cache"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"cannot list the folder cache {folder} (permission denied)" in said
    assert f"chmod u+rwx '{folder}'" in said and "CNNLAB_CACHE" in said
    assert "empty" not in said
    line = _cache_line()
    assert "cannot list the folder cache" in line and "0 entries" not in line


def test_a_data_copy_passed_over_for_another_is_said(data_env, tiny_fashion, monkeypatch):
    # $CNNLAB_DATA naming a copy this user may not read was passed over for the system
    # copy without a word: the user who set it trained on another copy unawares.
    mine, system = data_env / "mine", fm.SYSTEM_DIR
    tiny_fashion(mine, seed=1)
    tiny_fashion(system, n_test=7, seed=2)
    monkeypatch.setenv(fm.ENV_VAR, str(mine))
    deny_reading(monkeypatch, mine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = fm.load(download=False)
        fm.locate()  # looked for again: said once
    assert str(system) in data.source
    said = [m for m in _said(caught) if "$CNNLAB_DATA" in m]
    assert len(said) == 1, said
    assert f"$CNNLAB_DATA ({mine}) is passed over" in said[0]
    assert "not readable by this user" in said[0] and "chmod a+r" in said[0]
    assert f"using {system} (system copy) instead" in said[0]
    assert "data download" not in said[0]  # its files are there: only their modes differ


def test_a_data_copy_that_counts_is_not_warned_of(data_env, tiny_fashion, monkeypatch):
    tiny_fashion(data_env / "ok")
    monkeypatch.setenv(fm.ENV_VAR, str(data_env / "ok"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert fm.locate().origin == "$CNNLAB_DATA"


def test_the_chmod_for_an_unlisted_folder_is_shell_quoted(tmp_path, monkeypatch):
    # "chmod -R a+rX /home/me/my photos/cat" pasted as printed names two other folders.
    root = tmp_path / "my photos"
    _images(root / "cat", 2)
    _images(root / "dog", 2)
    deny_listing(monkeypatch, root / "dog")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_folder(root, image_size=8, channels=1, use_cache=False, progress=False)
    assert any(f"chmod -R a+rX '{root / 'dog'}'" in m for m in _said(caught)), _said(caught)


def test_a_folder_removed_while_read_is_not_said_to_be_denied(tmp_path, monkeypatch):
    # Every folder os.walk could not list read "(permission denied)", with a chmod.
    root = tmp_path / "photos"
    _images(root / "cat", 2)
    _images(root / "cat" / "gone", 2)
    _images(root / "dog", 2)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(root / "cat" / "gone"):
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_folder(root, image_size=8, channels=1, use_cache=False, progress=False)
    said = [m for m in _said(caught) if "could not read" in m]
    assert len(said) == 1 and "cat/gone (removed or renamed while it was read)" in said[0]
    assert "permission denied" not in said[0] and "chmod" not in said[0]


@pytest.mark.parametrize(("size", "key_before"), [
    ((32, 32), "fc50348c4b4d3551ded0572046dbc9b7"),  # square: the same key, read again
    ((40, 24), "272aa9840b6cdd4fcf753a7ede5e5396"),  # non-square: a new one, decoded anew
])
def test_only_non_square_entries_are_decoded_again(tmp_path, monkeypatch, size, key_before):
    # Entries of format 5 written with Pillow 9.4 kept a doubly turned PNG cut the wrong
    # way round; only a non-square size is cut by the turn. The keys before are main's
    # at c624320 for this folder, size and channels.
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    key = folder_cache.cache_key(PurePosixPath("/photos"), size, 3, [])
    assert (key == key_before) == (size[0] == size[1])


def test_a_class_folder_holding_an_unsearchable_folder_loads(tmp_path, monkeypatch):
    # Asking whether a folder one may not search (chmod 000) was a run's ended the load
    # in "Permission denied: .../config.yaml" (Path.is_file raises EACCES).
    root = tmp_path / "photos"
    _images(root / "cat", 2)
    _images(root / "dog", 2)
    private = root / "cat" / "more"
    private.mkdir()
    deny_listing(monkeypatch, private)
    real_stat = os.stat

    def user_stat(path, *args, **kwargs):
        if Path(path).parent == private:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", user_stat)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_folder(root, image_size=8, channels=1, use_cache=False, progress=False)
    assert data.classes == ["cat", "dog"]
    assert any("cat/more (permission denied)" in m for m in _said(caught)), _said(caught)


def test_an_empty_data_folder_passed_over_says_how_to_fill_it(data_env, tiny_fashion,
                                                                monkeypatch):
    # Said, not only for an unreadable copy: a $CNNLAB_DATA set for downloads stayed
    # empty (they go to the cache), and the user trained on another copy unawares.
    empty = data_env / "my data"
    empty.mkdir()
    tiny_fashion(fm.SYSTEM_DIR, seed=2)
    monkeypatch.setenv(fm.ENV_VAR, str(empty))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fm.locate()
    said = [m for m in _said(caught) if "$CNNLAB_DATA" in m]
    assert len(said) == 1 and "missing train-images-idx3-ubyte[.gz]" in said[0], said
    assert f"cnnlab data download --root '{empty}'" in said[0], said


def test_unreadable_files_of_an_owner_without_a_name_are_not_this_users_to_chmod(
        tmp_path, monkeypatch):
    # An owner whose id has no name here (NFS, a container's) read as this user's own,
    # and the fix given was a chmod this user may not run.
    from cnnlab.data import access, fashion_files

    copy = tmp_path / "fm copy"
    copy.mkdir()
    for name in fashion_files.FILES:
        (copy / f"{name}.gz").write_bytes(b"")
    monkeypatch.setattr(fashion_files, "file_state",
                        lambda path: "unreadable" if path.name.endswith(".gz") else "missing")
    monkeypatch.setattr(access, "user_id", lambda: os.stat(copy).st_uid + 54321)
    pwd = pytest.importorskip("pwd")  # POSIX: an id without a name

    def no_name(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_name)
    said = fashion_files.why_not(copy)
    assert "their owner can share them (chmod a+r)" in said, said
    monkeypatch.setattr(access, "user_id", lambda: os.stat(copy).st_uid)  # this user's
    said = fashion_files.why_not(copy)
    assert f"let this user read them (chmod a+r '{copy}'/*)" in said, said


def test_a_cache_folder_listed_but_not_searchable_is_said(tmp_path, monkeypatch):
    # Mode r-- (no x): its names list, its entries cannot be opened; "0 entries" again.
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    folder = folder_cache.entries_folder()
    folder.mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) ==
                        os.fspath(folder) else real_access(p, mode))
    with pytest.raises(folder_cache.CacheFolderError, match="permission denied"):
        folder_cache.cache_entries()


def test_a_cache_root_made_in_this_users_home_is_given_back(tmp_path, monkeypatch):
    # `sudo cnnlab ...` made the cache in the user's own home: asking root to let them
    # write is not the fix; taking it back is.
    from cnnlab.data import folder_cache as cache

    home = tmp_path / "home"
    made = home / ".cache" / "cnnlab"
    made.mkdir(parents=True)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setattr(cache, "owner", lambda path: "root")
    said = cache.cache_not_kept(made, "could not write the cache",
                                PermissionError(13, "Permission denied"))
    assert f'sudo chown -R "$USER" {made}' in said, said
    elsewhere = tmp_path / "shared" / "cache"
    elsewhere.mkdir(parents=True)
    said = cache.cache_not_kept(elsewhere, "could not write the cache",
                                PermissionError(13, "Permission denied"))
    assert "ask root to let you write in it" in said and "chown" not in said, said
