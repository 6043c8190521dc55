"""Runs for the resume tests: small, deterministic, on data a resume reads again."""

from __future__ import annotations

import cnnlab.train.run as run_module
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train
from cnnlab.train.trainer import Trainer

STEPS_PER_EPOCH = 4  # 128 images / batch 32


def small_run(tmp_path, monkeypatch, **fields):
    """Train lenet_modern on 128 synthetic images (a resume reads the same ones)."""
    data = make_synthetic(num_train=128, num_test=32, seed=1)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: data)
    values = dict(model="lenet_modern", data="synthetic", batch_size=32, device="cpu",
                  deterministic=True, quiet=True, out_dir=str(tmp_path))
    return train(TrainConfig(**{**values, **fields}), data=data)


def signal_after_steps(patch, n_steps: int, name: str = "SIGINT") -> None:
    """Have the loop see signal ``name`` after ``n_steps`` optimizer steps in all, as a
    Ctrl-C (or SIGTERM) heard then; ``patch``: a monkeypatch, or its context()."""
    original = Trainer._optimizer_step
    count = {"n": 0}

    def step(self):
        original(self)
        count["n"] += 1
        if count["n"] == n_steps:
            self._stop_signal = name

    patch.setattr(Trainer, "_optimizer_step", step)


def count_steps(monkeypatch) -> dict:
    original = Trainer._optimizer_step
    count = {"n": 0}

    def step(self):
        original(self)
        count["n"] += 1

    monkeypatch.setattr(Trainer, "_optimizer_step", step)
    return count
