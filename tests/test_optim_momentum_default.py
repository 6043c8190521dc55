"""The momentum each optimizer is built with when the config leaves it at 0.

TrainConfig's momentum defaults to 0 (plain SGD); Muon and Nesterov SGD have no
sense without momentum, so they take 0.9 then, and a value given keeps its own.
Written against mutants of cnnlab/train/optim.py that the suite let through
(session 33's mutation report: "Muon with momentum 0" was untested).
"""

from __future__ import annotations

import pytest
import torch

from cnnlab.train.config import TrainConfig
from cnnlab.train.optim import build_optimizer


@pytest.mark.parametrize("optimizer, given, expected", [
    ("muon", 0.0, 0.9), ("muon", 0.5, 0.5),
    ("nesterov", 0.0, 0.9), ("nesterov", 0.5, 0.5),
    ("sgd", 0.0, 0.0), ("sgd", 0.5, 0.5),
])
def test_momentum_zero_means_the_default_only_where_momentum_is_needed(optimizer, given,
                                                                        expected):
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(),
                                torch.nn.Linear(16, 2))
    opt = build_optimizer(model, TrainConfig(optimizer=optimizer, momentum=given))
    assert {g["momentum"] for g in opt.param_groups} == {expected}
