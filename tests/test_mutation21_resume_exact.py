"""A run stopped mid-epoch (twice in one epoch) and resumed ends bit for bit as the
uninterrupted run: weights, EMA, each epoch's losses, accuracies and learning rate.

Mutation testing (session 38, mutation21) found the epoch-boundary resume of
test_determinism.py blind to what only a mid-epoch stop carries: the partial epoch's
sums and the step within the epoch, against a schedule that moves every step.
"""

from __future__ import annotations

import pytest
from resume_helpers import signal_after_steps
from test_determinism import assert_same_weights, fit, small_cfg
from test_resume_versions import _edit_state

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainingInterrupted
from cnnlab.train.checkpoint import read_state


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=96, num_test=40, seed=3)  # 3 steps an epoch


def stop_after(cfg, data, run_dir, monkeypatch, steps: int) -> None:
    with monkeypatch.context() as patch:
        signal_after_steps(patch, steps)
        with pytest.raises(TrainingInterrupted):
            fit(cfg, data, run_dir=run_dir)


def test_two_stops_inside_one_epoch_resume_to_the_uninterrupted_run(tmp_path, data,
                                                                     monkeypatch):
    cfg = small_cfg(epochs=3, eval_every=1, schedule="cosine", warmup_epochs=1)
    straight_scores, straight = fit(cfg, data)
    stop_after(cfg, data, tmp_path, monkeypatch, 4)  # epoch 2, after its first step
    last = tmp_path / "checkpoints" / "last.safetensors"
    first = read_state(last)["partial"]
    # A first part of the epoch that took long: the clock the second part must add to
    _edit_state(last, lambda state: state["partial"].update(time=1000.0))
    stop_after(cfg, data, tmp_path, monkeypatch, 1)  # and after its second
    second = read_state(last)["partial"]
    # The epoch's sums and clock carry both sessions' steps (its row's images/s and time)
    assert second["seen"] == 2 * first["seen"] and second["time"] > 1000.0
    resumed_scores, resumed = fit(cfg, data, run_dir=tmp_path)
    assert_same_weights(straight, resumed)
    assert resumed_scores == straight_scores
