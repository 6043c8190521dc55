"""A resume normalises batches by the statistics its run began with, as stored."""

from __future__ import annotations

import pytest
import torch
from resume_helpers import STEPS_PER_EPOCH, signal_after_steps, small_run

import cnnlab.train.trainer as trainer_module
from cnnlab.train import TrainingInterrupted, resume


def test_a_resume_normalises_as_the_run_began_even_where_the_statistics_now_differ(
        tmp_path, monkeypatch):
    # A run checkpointed before the statistics were exact (float sums, rounded otherwise
    # on another thread count) recomputed them on resume and went on normalising
    # otherwise: stood in for here by statistics 1% off once the run has stopped.
    fields = dict(epochs=2, normalize=True, schedule="constant", warmup_epochs=0)
    straight = small_run(tmp_path, monkeypatch, run_name="straight", **fields)
    signal_after_steps(monkeypatch, STEPS_PER_EPOCH + 1)
    with pytest.raises(TrainingInterrupted):
        small_run(tmp_path, monkeypatch, run_name="stopped", **fields)
    monkeypatch.undo()  # the stop; small_run's data patch is made again by resume's data=
    exact = trainer_module.channel_stats
    monkeypatch.setattr(trainer_module, "channel_stats", lambda images, device=None: tuple(
        [v * 1.01 for v in values] for values in exact(images, device)))
    from resume_helpers import make_synthetic  # the same 128 images small_run trains on

    resumed = resume(tmp_path / "stopped", data=make_synthetic(num_train=128, num_test=32,
                                                                seed=1), console=False)
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
