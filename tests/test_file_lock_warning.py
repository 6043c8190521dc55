"""On a file system without locks (NFS mounted nolock: ENOLCK), cnnlab goes on unlocked,
and says so once per process for each kind of lock, naming the lock file and what a
second command could now do: train the same run or sweep, or lose a zoo bench's row. It
went on without a word."""

from __future__ import annotations

import errno
import warnings

import pytest
from typer.testing import CliRunner

from cnnlab import file_lock
from cnnlab.notices import LockWarning

fcntl = pytest.importorskip("fcntl")  # flock is POSIX's: elsewhere nothing is locked


@pytest.fixture
def no_locks(monkeypatch):
    """Every flock fails as on a mount without locks; nothing said yet in this process."""
    def refused(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refused)
    monkeypatch.setattr(file_lock, "_SAID", set(), raising=False)


def _said(action) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught if issubclass(w.category, LockWarning)]


def test_each_kind_of_lock_left_untaken_is_said_once_naming_the_file(tmp_path, no_locks):
    from cnnlab.bench import zoo
    from cnnlab.data.folder_cache import decoding_lock
    from cnnlab.design import runner
    from cnnlab.design.store import DB_NAME
    from cnnlab.train.runlog import run_lock

    runs = [tmp_path / "run1", tmp_path / "run2"]
    sweep = tmp_path / "sweep"
    for folder in (*runs, sweep):
        folder.mkdir()
    (sweep / DB_NAME).write_bytes(b"")  # a sweep is there: it is locked

    def in_turn():
        for run_dir in runs:
            with run_lock(run_dir) as held:
                assert held is False  # unlocked, as before
        with runner.sweep_lock(sweep):
            pass
        for _ in range(2):
            with zoo._file_lock(tmp_path / ".zoo-book.lock"):
                pass
        with decoding_lock(tmp_path / "folders" / "entry") as waited:
            assert waited is False

    said = _said(in_turn)
    assert len(said) == 3, said  # the run's once, the sweep's, the zoo's; not the cache's
    run, swept, zoo_row = said
    lock_said = f"{runs[0] / '.lock'}: no lock can be taken there ([Errno {errno.ENOLCK}]"
    assert run.startswith(lock_said)
    assert (f"so the run {runs[0]} trains unguarded: a second command training it "
            "meanwhile (cnnlab resume) is not refused") in run
    assert swept.startswith(f"{sweep / '.lock'}: no lock can be taken there")
    assert "a second `cnnlab design run` of it meanwhile is not refused" in swept
    assert zoo_row.startswith(f"{tmp_path / '.zoo-book.lock'}: no lock can be taken there")
    assert "can lose one of the rows" in zoo_row
    assert _said(in_turn) == []  # said once per process


def test_a_lock_taken_says_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(file_lock, "_SAID", set(), raising=False)
    with open(tmp_path / ".lock", "a+", encoding="utf-8") as handle:
        assert _said(lambda: file_lock.try_lock(handle)) == []
        file_lock.unlock(handle)


def test_cnnlab_train_on_a_mount_without_locks_says_so(tmp_path, no_locks):
    from cnnlab.cli import app

    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
        "--epochs", "1", "--train-subset", "64", "--eval-subset", "32", "--preset", "none",
        "--out-dir", str(tmp_path), "--run-name", "r"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert words.count("no lock can be taken there") == 1
    assert (f"warning: {tmp_path / 'r' / '.lock'}: no lock can be taken there ([Errno "
            f"{errno.ENOLCK}] No locks available: a mount without locks, NFS nolock say), "
            f"so the run {tmp_path / 'r'} trains unguarded") in words


def test_the_warning_is_told_at_the_scripts_own_line(tmp_path, no_locks):
    # The run's lock is taken in a `with` block: the warning was told at contextlib.py's
    # line, not at the train(...) of the script or notebook that led to it.
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, train

    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=32, device="cpu",
                      quiet=True, out_dir=str(tmp_path), run_name="r")
    data = make_synthetic(num_train=64, num_test=32, num_classes=2)
    with pytest.warns(LockWarning, match="so the run .* trains unguarded") as caught:
        train(cfg, data=data, console=False)
    assert [w.filename for w in caught if w.category is LockWarning] == [__file__]


def test_the_words_are_the_callers_and_a_lock_without_them_says_nothing(tmp_path, no_locks):
    # file_lock guessed the kind of lock from the lock file's name (found through
    # /proc/self/fd): the caller says it, or (a folder's cache entry) stays quiet.
    from cnnlab.design.store import DB_NAME

    (tmp_path / DB_NAME).write_bytes(b"")  # named as a sweep's lock is: no matter
    path = tmp_path / ".lock"
    guarded = file_lock.Unguarded("kind", path, "the thing in question goes unguarded")
    with open(path, "a+", encoding="utf-8") as handle:
        assert _said(lambda: file_lock.try_lock(handle)) == []
        said = _said(lambda: [file_lock.try_lock(handle, unguarded=guarded) for _ in "ab"])
        assert said == [f"{path}: no lock can be taken there ([Errno {errno.ENOLCK}] No locks"
                        " available: a mount without locks, NFS nolock say), so the thing in"
                        " question goes unguarded"]
        other = file_lock.Unguarded("another kind", tmp_path / "x.lock", "other words")

        def held():
            with file_lock.exclusive(handle, unguarded=other) as state:
                assert state is file_lock.LockState.NO_LOCKS

        assert [w.endswith("so other words") for w in _said(held)] == [True]
