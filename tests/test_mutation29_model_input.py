"""Network.forward's input guard: which failures it explains, in whose name, and which it
leaves alone. Written against mutants of cnnlab/models/_base.py (session 39) that the
suite let through: an inner model's ModelInputError re-worded by the outer one, an
IndexError (torchvision's transform_input on one channel) left unexplained, the class
name in place of the registered name, a float32 model's dtype blamed under autocast for
a failure of its own, and flattened_size leaving a module in training mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.models import get_model
from cnnlab.models._base import ModelInputError, Network, flattened_size


class Fails(Network):
    """A network whose forward raises ``error``, after a convolution taking 3 channels."""

    num_features = 4

    def __init__(self, error: Exception | None = None, pick_channels: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.error, self.pick_channels = error, pick_channels

    def forward_features(self, x):
        if self.pick_channels:  # as torchvision's transform_input reads x[:, 1], x[:, 2]
            x = torch.stack([x[:, 0], x[:, 1], x[:, 2]], dim=1)
        if self.error is not None:
            raise self.error
        return self.conv(x)

    def forward_head(self, x, pre_logits=False):
        return x.mean((2, 3))


def test_an_inner_models_input_error_keeps_its_own_words():
    inner = ModelInputError("the inner model's own words")
    with pytest.raises(ModelInputError) as caught:
        Fails(inner)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    assert caught.value is inner


def test_an_index_error_from_reading_missing_channels_is_explained():
    with pytest.raises(ModelInputError, match=r"takes 3 channel\(s\), this input has 1"):
        Fails(pick_channels=True)(torch.zeros(1, 1, 8, 8))


def test_a_registered_model_is_named_by_its_registered_name():
    with pytest.raises(ModelInputError, match=r"^lenet_d2l cannot take this input"):
        get_model("lenet_d2l")(torch.zeros(1, 1, 28, 28, dtype=torch.uint8))


def test_under_autocast_a_half_input_is_not_blamed_for_another_failure():
    boom = RuntimeError("boom")
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(RuntimeError) as caught:
        Fails(boom)(torch.zeros(1, 3, 8, 8, dtype=torch.bfloat16))
    assert caught.value is boom
    with pytest.raises(ModelInputError, match="parameters are float32"):  # without: it is
        Fails(boom)(torch.zeros(1, 3, 8, 8, dtype=torch.bfloat16))


def test_flattened_size_leaves_a_module_in_its_own_mode():
    module = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    assert flattened_size(module, 1, 6) == 2 * 4 * 4
    assert not module.training and not module[1].training
