"""A run folder whose config.yaml was deleted, its checkpoints kept: the commands say the
file is missing and how to write it back from the settings the checkpoint records (they
called the folder "not a cnnlab run directory"), and restore_config writes it exactly."""

from __future__ import annotations

import re
import shutil

import pytest
from test_folder_runs import runner, words

from cnnlab.cli import app
from cnnlab.train.run_files import NotARunError, check_run_folder, restore_config


@pytest.fixture
def lost(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "config.yaml").unlink()
    return run


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_lost_config_yaml_is_said_with_the_line_that_restores_it(lost, tiny_run, command):
    result = runner.invoke(app, [command, str(lost)])
    said = words(result)
    assert result.exit_code == 2, result.output
    assert "has lost its config.yaml" in said and "not a cnnlab run directory" not in said
    assert f"{lost / 'checkpoints' / 'last.safetensors'} records the settings" in said
    code = re.search(r"python -c '(.*?)'`", said)[1]
    exec(code, {})  # the printed line, as a user pastes it
    assert ((lost / "config.yaml").read_text(encoding="utf-8")
            == (tiny_run / "config.yaml").read_text(encoding="utf-8"))
    check_run_folder(lost)


def test_best_alone_still_records_the_settings(lost, tiny_run):
    (lost / "checkpoints" / "last.safetensors").unlink()
    with pytest.raises(NotARunError, match=r"best\.safetensors records the settings"):
        check_run_folder(lost)
    restore_config(lost)
    assert ((lost / "config.yaml").read_text(encoding="utf-8")
            == (tiny_run / "config.yaml").read_text(encoding="utf-8"))


def test_restore_config_overwrites_nothing_and_needs_a_checkpoint(tiny_run, tmp_path):
    with pytest.raises(FileExistsError):
        restore_config(tiny_run)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(NotARunError, match="not a cnnlab run directory"):
        check_run_folder(tmp_path)  # no record: the old words
    with pytest.raises(NotARunError, match="holds no readable cnnlab checkpoint"):
        restore_config(tmp_path)
