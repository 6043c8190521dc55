"""What cnnlab writes and deletes where a run folder holds links, or a folder given as a
run is not one: nothing outside the run is written or removed through a link, and a
folder that is not only a run's is never advised deleted."""

from __future__ import annotations

import os

import pytest
import torch

from cnnlab.train.checkpoint import load_checkpoint, mend_readable_copy, save_checkpoint
from cnnlab.train.config import ConfigError
from cnnlab.train.run_files import check_run_folder, start_again
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


def test_a_writing_command_refuses_a_run_folder_linked_outside(tmp_path):
    run, outside = _run(tmp_path), tmp_path / "elsewhere"
    outside.mkdir()
    _link(outside, run / "plots")
    check_run_folder(run)  # reading through it is fine (eval, predict)
    with pytest.raises(ConfigError) as caught:
        check_run_folder(run, writing=True)
    message = str(caught.value)
    assert f"{run / 'plots'} is a link to {outside.resolve()}" in message
    assert "cp -rL" in message


def test_links_that_stay_in_the_run_or_are_the_run_are_fine(tmp_path):
    run = _run(tmp_path)
    (run / "figures").mkdir()
    _link(run / "figures", run / "plots")  # leads to the run's own folder
    check_run_folder(run, writing=True)
    _link(run, tmp_path / "alias")  # the run folder itself a link: runs/a -> /disk/a
    check_run_folder(tmp_path / "alias", writing=True)


def test_a_checkpoint_is_never_written_through_a_linked_folder(tmp_path):
    run, outside = _run(tmp_path), tmp_path / "elsewhere"
    outside.mkdir()
    _link(outside, run / "checkpoints")
    with pytest.raises(ConfigError, match="is a link to"):
        save_checkpoint(run / "checkpoints" / "last.safetensors", {"w": torch.zeros(2)},
                        {"epoch": 1})
    assert list(outside.iterdir()) == []


def test_a_readable_copy_is_never_mended_through_a_linked_folder(tmp_path):
    run, outside = _run(tmp_path), tmp_path / "elsewhere"
    save_checkpoint(outside / "last.safetensors", {"w": torch.zeros(2)}, {"epoch": 1})
    (outside / "last.json").unlink()
    _link(outside, run / "checkpoints")
    load_checkpoint(run / "checkpoints" / "last.safetensors")  # read through it: fine
    with pytest.raises(ConfigError, match="is a link to"):
        mend_readable_copy(run / "checkpoints" / "last.safetensors")
    assert not (outside / "last.json").exists()


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
                                  "a\nb", "a\x00b", "tab\there"])
def test_run_names_that_are_no_folder_name_are_refused(name):
    assert run_name_problem(name)


@pytest.mark.parametrize("name", ["lenet-lr0.1", "-x", "~", "$HOME", "Résumé run"])
def test_plain_run_names_are_taken(name):
    assert run_name_problem(name) is None
