"""--fused-optimizer where this PyTorch has no fused kernel: a ConfigError that says to
drop the option; without the option such an error is torch's own.

Written against a mutant of cnnlab/train/optim.py the suite let through (session 35's
mutation report, O14: the test inverted). The PyTorch the suite runs on has the fused
kernels, so the refusal is met here through an optimizer that lacks them.
"""

from __future__ import annotations

import pytest
import torch

from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.optim import build_optimizer


class NoFusedAdamW(torch.optim.AdamW):
    def __init__(self, params, *args, fused=None, **kwargs):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be on CUDA")
        super().__init__(params, *args, **kwargs)


def test_a_fused_optimizer_this_torch_lacks_is_refused_with_the_option_to_drop(monkeypatch):
    monkeypatch.setattr(torch.optim, "AdamW", NoFusedAdamW)
    model = torch.nn.Linear(3, 2)
    with pytest.raises(ConfigError, match=r"^fused_optimizer=true: this PyTorch .* has no "
                       r"fused adamw for these parameters \(`fused=True` requires.*\); "
                       r"drop --fused-optimizer$"):
        build_optimizer(model, TrainConfig(optimizer="adamw", fused_optimizer=True))
    assert isinstance(build_optimizer(model, TrainConfig(optimizer="adamw")), NoFusedAdamW)
