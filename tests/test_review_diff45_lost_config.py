"""A run folder that lost its config.yaml and whose last.safetensors is damaged: the
settings are still read from best.safetensors, which the message names, and the file
written back is the one lost: the search goes on past a checkpoint it cannot read."""

from __future__ import annotations

import shutil

import pytest

from cnnlab.train.run_files import NotARunError, check_run_folder, restore_config


def test_a_damaged_last_checkpoint_leaves_best_to_record_the_settings(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "config.yaml").unlink()
    last = run / "checkpoints" / "last.safetensors"
    last.write_bytes(last.read_bytes()[:1000])  # cut inside its header
    with pytest.raises(NotARunError, match=r"best\.safetensors records the settings"):
        check_run_folder(run)
    restore_config(run)
    assert ((run / "config.yaml").read_text(encoding="utf-8")
            == (tiny_run / "config.yaml").read_text(encoding="utf-8"))
