"""A user's network that subclasses cnnlab's Network and ignores in_channels: the check of
its build says torch's error and the builder's fix, once."""

import pytest
from torch import nn

from cnnlab.models._base import PooledFcNet
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.model_setup import build_model


class RgbNet(PooledFcNet):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, num_classes)
        self.num_features = 8

    def forward_features(self, x):
        return self.conv(x)


def test_a_network_ignoring_in_channels_is_told_the_builders_fix_alone(registry):
    registry(family="own", paper="-", input_size=(1, 28, 28), min_input_size=8,
             name="own_rgb_network")(lambda num_classes, in_channels: RgbNet(num_classes))
    with pytest.raises(ConfigError) as caught:
        build_model(TrainConfig(model="own_rgb_network", device="cpu"), 10, 1, 28)
    message = str(caught.value)
    # Before: the ModelInputError's "build the model for them (get_model(name,
    # in_channels=1))" inside it, which is what the run had done.
    assert "get_model(" not in message and "ModelInputError" not in message
    assert "expected input[2, 1, 28, 28] to have 3 channels" in message
    assert "Its builder is given in_channels=1" in message
