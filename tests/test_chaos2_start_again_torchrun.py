"""A torchrun resume of a run killed before its first checkpoint is refused with the
command that starts it again: torchrun's, on as many processes, not one process's."""

from __future__ import annotations

from cnnlab.train.run_files import start_again


def test_start_again_under_torchrun_names_torchrun(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: lenet_d2l\n", encoding="utf-8")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    words = start_again(run)
    assert f"torchrun --nproc_per_node=2 -m cnnlab train --config {run / 'config.yaml'}" in words
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert f": cnnlab train --config {run / 'config.yaml'}" in start_again(run)
