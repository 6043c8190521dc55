"""A disk that fills while a run writes (found by killing and failing runs at random
points): the run stops with an OSError that names the file, what is kept and how to go
on, and the resume after it is exact (or writes the report the disk had no room for)."""

import errno
import json
from pathlib import Path

import pytest
import torch
from resume_helpers import small_run
from safetensors import SafetensorError

import cnnlab.train.run_outputs as run_outputs
from cnnlab.atomic import atomic_write_bytes
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import resume

# What safetensors raises when the disk fills under save_file (seen on a 400 KiB tmpfs).
FULL = "Error while serializing: I/O error: No space left on device (os error 28)"


def fill_the_disk_at(monkeypatch, saves: int) -> None:
    """Make the ``saves``-th checkpoint write (1-based) fail as a full disk fails it."""
    real, count = ckpt.save_file, {"n": 0}

    def save_file(tensors, filename, metadata=None):
        count["n"] += 1
        if count["n"] == saves:
            with open(filename, "wb") as fh:  # part of it written, as a full disk leaves it
                fh.write(b"\0" * 100)
            raise SafetensorError(FULL)
        return real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(ckpt, "save_file", save_file)


def test_a_full_disk_at_a_checkpoint_says_what_is_kept_and_the_resume_is_exact(
        tmp_path, monkeypatch):
    reference = small_run(tmp_path / "ref", monkeypatch, epochs=2, run_name="run")
    # Epoch 1 writes best, then last; epoch 2's best write (the third) fails.
    fill_the_disk_at(monkeypatch, 3)
    with pytest.raises(OSError) as caught:  # was safetensors' SafetensorError: a traceback
        small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    run = tmp_path / "run"
    said = str(caught.value)
    assert caught.value.errno == errno.ENOSPC
    assert str(run / "checkpoints" / "best.safetensors") in said
    # Data given to train(): only resume() from Python, with it, continues the run
    assert "no space left on device" in said and f"resume({str(run)!r}, data=...)" in said
    assert "its last checkpoint stays whole" in said
    assert not list(run.rglob("*.tmp"))  # the part written is gone
    assert ckpt.read_state(run / "checkpoints" / "last.safetensors")["epoch"] == 1

    result = resume(run)  # the disk has room again (the failure came once)
    assert [r["train_loss"] for r in result.history] == \
        [r["train_loss"] for r in reference.history]
    got = ckpt.load_checkpoint(run / "checkpoints" / "last.safetensors")[0]["model"]
    want = ckpt.load_checkpoint(tmp_path / "ref" / "run" / "checkpoints" /
                                "last.safetensors")[0]["model"]
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_a_full_disk_before_the_first_checkpoint_says_to_start_again(tmp_path, monkeypatch):
    fill_the_disk_at(monkeypatch, 1)
    with pytest.raises(OSError, match="nothing to resume: free some space on that disk and "
                                      "start the run again"):
        small_run(tmp_path, monkeypatch, epochs=1, run_name="run")


def test_other_safetensors_errors_are_not_taken_for_a_disk_error(tmp_path, monkeypatch):
    def save_file(tensors, filename, metadata=None):
        raise SafetensorError("some other failure")

    monkeypatch.setattr(ckpt, "save_file", save_file)
    with pytest.raises(SafetensorError, match="some other failure"):
        ckpt.save_checkpoint(tmp_path / "c.safetensors", {"w": torch.zeros(2)}, {"epoch": 0})


def test_an_atomic_write_a_full_disk_stops_names_the_file(tmp_path):
    def write(tmp):
        Path(tmp).write_text("half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it

    target = tmp_path / "summary.json"
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(target, write)
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_the_report_is_written_says_resume_writes_it(tmp_path, monkeypatch):
    def full(run_dir, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(run_dir / "report.html"))

    monkeypatch.setattr(run_outputs, "write_report", full)
    with pytest.raises(OSError, match=r"report.html could not be written \(no space left on "
                                      r"device\); the training is done and kept in its "
                                      r"checkpoints: .* writes the run's summary and report"):
        small_run(tmp_path, monkeypatch, epochs=1, run_name="run")
    monkeypatch.undo()  # room again
    monkeypatch.setattr("cnnlab.train.run.load_training_data", lambda cfg: _small_data())
    run = tmp_path / "run"
    with pytest.warns(UserWarning, match="writing them now"):
        resume(run)
    assert (run / "report.html").is_file()
    assert json.loads((run / "summary.json").read_text(encoding="utf-8"))["final"]["epoch"] == 1


def test_a_full_disk_at_an_epochs_row_says_what_is_kept(tmp_path, monkeypatch):
    from cnnlab.train.runlog import MetricsLog

    real, count = MetricsLog.append, {"n": 0}

    def append(self, row):
        count["n"] += 1
        if count["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")  # as fsync raises it
        real(self, row)

    monkeypatch.setattr(MetricsLog, "append", append)
    with pytest.raises(OSError, match="could not be written .no space left on device., so "
                                      "training stopped; its last checkpoint stays whole"):
        small_run(tmp_path, monkeypatch, epochs=2, run_name="run")
    assert resume(tmp_path / "run").final["epoch"] == 2


def _small_data():
    from cnnlab.data.synthetic import make_synthetic

    return make_synthetic(num_train=128, num_test=32, seed=1)
