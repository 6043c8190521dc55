"""What cnnlab writes and deletes where a run folder holds links, or a folder given as a
run is not one: a file that is a link is replaced, never the file it leads to; a folder
that is not only a run's is never advised deleted; a run name is a folder's name."""

from __future__ import annotations

import os

import pytest
import torch

from cnnlab.train.checkpoint import save_checkpoint
from cnnlab.train.run_files import start_again
from cnnlab.train.run_names import run_name_problem


def _link(target, link):
    try:
        os.symlink(target, link, target_is_directory=os.path.isdir(target))
    except (OSError, NotImplementedError):  # Windows without the privilege
        pytest.skip("symbolic links cannot be made here")


def _run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    return run


def test_a_folder_with_other_files_is_not_advised_deleted(tmp_path):
    run = _run(tmp_path)
    assert "can then be deleted" in start_again(run)  # only a run's files: say so
    (run / "thesis.tex").write_text("months of work", encoding="utf-8")
    words = start_again(run)
    assert "cnnlab train --config" in words
    assert "deleted" not in words


def test_a_checkpoint_file_that_is_a_link_is_replaced_not_its_target(tmp_path):
    run, victim = _run(tmp_path), tmp_path / "victim.bin"
    victim.write_bytes(b"not yours")
    (run / "checkpoints").mkdir()
    _link(victim, run / "checkpoints" / "last.safetensors")
    save_checkpoint(run / "checkpoints" / "last.safetensors", {"w": torch.zeros(2)},
                    {"epoch": 1})
    assert victim.read_bytes() == b"not yours"
    assert not (run / "checkpoints" / "last.safetensors").is_symlink()


@pytest.mark.parametrize("name", ["../escape", "/abs/path", "a/b", ".", "..", "", " ",
                                  "a\nb", "a\x00b", "tab\there", "nel\x85", "ls\u2028"])
def test_run_names_that_are_no_folder_name_are_refused(name):
    assert run_name_problem(name)


@pytest.mark.parametrize("name", ["lenet-lr0.1", "-x", "~", "$HOME", "Résumé run"])
def test_plain_run_names_are_taken(name):
    assert run_name_problem(name) is None


def test_resume_of_a_folder_that_is_no_resumable_run_removes_nothing(tmp_path):
    # It took its lock and cleared "leftover" temporary files before it looked: a folder
    # given by mistake with a config.yaml of its own lost its .lock and .NAME.XXXX.tmp.
    from cnnlab.train import resume
    from cnnlab.train.checkpoint import CheckpointError

    folder = _run(tmp_path)
    for name in (".lock", ".draft.1a2b3c4d.tmp", ".notes.txt.99aa88bb.tmp"):
        (folder / name).write_text("theirs", encoding="utf-8")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(CheckpointError, match="not a resumable run"):
        resume(folder)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / ".lock").read_text(encoding="utf-8") == "theirs"
