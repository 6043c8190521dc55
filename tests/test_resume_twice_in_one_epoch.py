"""A run stopped twice inside the same epoch and resumed each time ends with the
uninterrupted run's numbers, bit for bit: the second stop adds its sums to what the first
carried over (loss, hits, images, time), not in place of them."""

import time

import pytest
from resume_helpers import signal_after_steps

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingInterrupted, resume, train
from cnnlab.train.presets import preset_values
from cnnlab.train.trainer import Trainer


def _cfg(tmp_path, name):
    values = preset_values("fast", "lenet_modern")
    values.update(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                  deterministic=True, device="cpu", out_dir=str(tmp_path), quiet=True,
                  run_name=name, threads=1)
    return TrainConfig(**values)


def test_two_stops_in_one_epoch_resume_to_the_uninterrupted_runs_rows(tmp_path, monkeypatch):
    import cnnlab.train.run as run_module

    data = make_synthetic(num_train=320, num_test=64, seed=3)  # 5 steps an epoch
    straight = train(_cfg(tmp_path, "straight"), data=data)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: data)
    with monkeypatch.context() as m:
        signal_after_steps(m, 6)  # epoch 2, after its first step, which takes 1 s more
        counted = Trainer._optimizer_step
        steps = {"n": 0}

        def slow_sixth(self):
            steps["n"] += 1
            if steps["n"] == 6:
                time.sleep(1.0)
            counted(self)

        m.setattr(Trainer, "_optimizer_step", slow_sixth)
        with pytest.raises(TrainingInterrupted, match="at epoch 2, step 1 of 5"):
            train(_cfg(tmp_path, "split"), data=data)
    with monkeypatch.context() as m:
        signal_after_steps(m, 2)  # the same epoch again, after its third step
        with pytest.raises(TrainingInterrupted, match="at epoch 2, step 3 of 5"):
            resume(tmp_path / "split")
    resumed = resume(tmp_path / "split")
    assert len(resumed.history) == len(straight.history) == 2
    for mine, theirs in zip(resumed.history, straight.history, strict=True):
        for column in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert mine[column] == theirs[column], (mine["epoch"], column)
    # Epoch 2's training time holds all three sessions' parts, the first's second too.
    assert resumed.history[1]["epoch_time_s"] >= 1.0
