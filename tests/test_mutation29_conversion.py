"""convert_to_scratch keeps every option of the layers it swaps, and what unconverted_calls
records. Written against mutants (session 39) that the suite let through: a max pool's
ceil_mode and an average pool's count_include_pad dropped on conversion (other outputs
than PyTorch's), a converted conv left in training mode (the pools were: fixed), a
BatchNorm2d taking (N, C) input once converted, the eval-mode pass of the call check
skipped, and a call listed once per pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.ops import convert_to_scratch, unconverted_calls


@pytest.mark.parametrize("pool", [
    nn.MaxPool2d(2, ceil_mode=True),
    nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True),
    nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
], ids=repr)
def test_a_converted_pool_gives_the_output_of_the_pool_it_replaced(pool):
    x = torch.randn(2, 3, 5, 5)
    expected = pool(x)
    model = convert_to_scratch(nn.Sequential(pool))
    assert type(model[0]).__module__ == "cnnlab.ops.modules"
    torch.testing.assert_close(model(x), expected)


def test_layers_converted_in_evaluation_mode_stay_in_it():
    # The pools came back in training mode: model.training said one thing and some of
    # its layers another (a later .train() or .eval() hid it).
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.MaxPool2d(2),
                          nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)).eval()
    convert_to_scratch(model)
    assert all(type(m).__module__.startswith("cnnlab.ops") for m in model)
    assert [m.training for m in model] == [False] * 5


def test_a_converted_batchnorm2d_refuses_a_batch_of_vectors_as_pytorchs_does():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError):
        bn(torch.randn(4, 3))
    model = convert_to_scratch(nn.Sequential(bn))
    with pytest.raises(ValueError, match="num_dims"):
        model(torch.randn(4, 3))


class PoolsByMode(nn.Module):
    """Pools with F.max_pool2d in training and F.avg_pool2d in evaluation, as a head that
    runs in training only (GoogLeNet's auxiliary classifiers) does."""

    def forward(self, x):
        x = F.max_pool2d(x, 2) if self.training else F.avg_pool2d(x, 2)
        return F.adaptive_avg_pool2d(x, 1)


def test_calls_of_either_mode_are_found_and_each_listed_once():
    calls = unconverted_calls(nn.Sequential(nn.Conv2d(1, 1, 1), PoolsByMode()), (1, 8, 8))
    assert sorted(calls) == ["F.adaptive_avg_pool2d", "F.avg_pool2d", "F.max_pool2d"]
    for where in calls.values():  # the same line in both passes is one place
        assert len(where) == 1 and where[0].startswith("1 ("), calls
