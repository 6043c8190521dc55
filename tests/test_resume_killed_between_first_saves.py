"""A run SIGKILLed between its first epoch's two checkpoint saves (best.safetensors is
written before last.safetensors) cannot be resumed; the refusal says what happened
rather than "stopped before its first checkpoint" beside a checkpoint file."""

from __future__ import annotations

import pytest

from cnnlab.train import resume
from cnnlab.train.checkpoint import CheckpointError


def _run(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    return run


def test_a_run_killed_between_its_first_saves_is_said_so(tmp_path):
    # Found by killing `cnnlab train` the moment checkpoints/best.safetensors appeared.
    run = _run(tmp_path)
    (run / "checkpoints" / "best.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError) as caught:
        resume(run)
    words = " ".join(str(caught.value).split())
    assert "killed while its first epoch's checkpoints were written" in words
    assert "before its first checkpoint" not in words
    assert "cnnlab train --config" in words  # how to start again, as before


def test_a_run_with_no_checkpoint_at_all_is_said_stopped_before_its_first(tmp_path):
    with pytest.raises(CheckpointError, match="stopped before its first checkpoint"):
        resume(_run(tmp_path))
