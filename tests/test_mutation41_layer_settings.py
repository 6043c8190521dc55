"""Every layer's settings equal torchvision's: kernel, stride, padding, bias, groups, BN
eps/momentum, pool and dropout settings, and (where the module names are torchvision's)
the order and the in-place flag of each ReLU. Logit parity (test_torchvision_parity)
misses what eval-mode logits do not show: a Dropout moved, or an in-place ReLU; and it
runs the large models only when slow tests are asked for. Built on the meta device where
torchvision allows, so no weights are drawn."""

import collections

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import get_model, model_info

# Global pools are left out: torchvision uses a module in some families, a function in others.
SETTINGS = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm, nn.MaxPool2d, nn.AvgPool2d,
            nn.Dropout)


def _build(make):
    try:
        with torch.device("meta"):
            return make()
    except NotImplementedError:  # torchvision's RegNet computes its widths from tensors
        return make()


def _pair(name):
    tv_name = model_info(name).torchvision_name
    kwargs = {"aux_logits": False, "init_weights": False} if tv_name == "googlenet" else {}
    return (_build(lambda: get_model(name)),
            _build(lambda: torchvision.models.get_model(tv_name, weights=None, **kwargs)))


def _settings(model):
    return collections.Counter(repr(m) for m in model.modules() if isinstance(m, SETTINGS))


@pytest.mark.parametrize("name", [
    "alexnet", "googlenet", "regnet_x_400mf", "regnet_y_400mf", "resnet18", "resnet50",
    "resnext50_32x4d", "wide_resnet50_2", "vgg11", "vgg11_bn", "densenet121",
])
def test_every_layer_setting_equals_torchvision(name):
    ours, tv = _pair(name)
    assert _settings(ours) == _settings(tv)


@pytest.mark.parametrize("name", ["alexnet", "vgg11_bn", "resnet18", "resnext50_32x4d"])
def test_same_layer_under_each_torchvision_name(name):
    """These families keep torchvision's module names: every leaf, ReLUs and their
    in-place flag included, sits under the same name."""
    ours, tv = _pair(name)

    def leaves(model):
        return {n: repr(m).replace("(6, 6)", "6").replace("(7, 7)", "7").replace("(1, 1)", "1")
                for n, m in model.named_modules() if not list(m.children())}

    assert leaves(ours) == leaves(tv)
