"""A Ctrl-C heard at an epoch's last step saves a checkpoint with every step of that
epoch done and none of its ending (evaluation, metrics row). The resume trains no step
before the row is written, so the row's learning rate is the checkpoint's, not one
worked out again from a schedule that has not stepped in this session."""

import pytest
from resume_helpers import signal_after_steps

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingInterrupted, resume, train
from cnnlab.train.presets import preset_values


def _cfg(tmp_path, name):
    values = preset_values("fast", "lenet_modern")  # onecycle: the lr moves every step
    values.update(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                  deterministic=True, device="cpu", out_dir=str(tmp_path), quiet=True,
                  run_name=name, threads=1)
    return TrainConfig(**values)


def test_a_stop_at_an_epochs_last_step_resumes_to_the_uninterrupted_runs_rows(
        tmp_path, monkeypatch):
    import cnnlab.train.run as run_module

    data = make_synthetic(num_train=320, num_test=64, seed=3)  # 5 steps an epoch
    straight = train(_cfg(tmp_path, "straight"), data=data)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: data)
    with monkeypatch.context() as m:
        signal_after_steps(m, 5)
        with pytest.raises(TrainingInterrupted, match="at epoch 1, step 5 of 5"):
            train(_cfg(tmp_path, "split"), data=data)
    resumed = resume(tmp_path / "split")
    assert len(resumed.history) == len(straight.history) == 2
    for mine, theirs in zip(resumed.history, straight.history, strict=True):
        for column in ("lr", "train_loss", "train_acc", "test_loss", "test_acc"):
            assert mine[column] == theirs[column], (mine["epoch"], column)
