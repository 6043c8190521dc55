"""The first convolution, found one way (cnnlab.models._base.first_conv) by everything that
needs it: the stem transforms, pretrained-weight adaptation, torchvision interop and
summary's input-size reading."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.inspect._input import first_conv_input
from cnnlab.models import get_model, model_info
from cnnlab.models._base import first_conv, plain_first_convolution, replace_submodule
from cnnlab.models.pretrained import first_conv_name
from cnnlab.models.transfer import load_pretrained
from cnnlab.models.whitened_stem import whiten_stem


class Described(nn.Module):
    """A block that records its arguments under the names a convolution uses."""

    def __init__(self):
        super().__init__()
        self.in_channels, self.kernel_size = 1, 3  # ints: no convolution's attributes
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv(x)


def test_any_convolution_counts_and_a_look_alike_does_not():
    scratch = get_model("lenet_d2l", scratch_ops=True)
    assert first_conv(scratch)[0] == "features.0"
    assert type(first_conv(scratch)[1]) is not nn.Conv2d  # cnnlab's from-scratch Conv2d
    lazy = nn.Sequential(nn.LazyConv2d(4, 3))
    assert first_conv(lazy)[0] == "0" and first_conv_input(lazy).channels is None
    assert first_conv(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))) is None
    assert first_conv(nn.Sequential(Described()))[0] == "0.conv"


def test_the_stem_transforms_skip_a_block_that_only_looks_like_a_convolution():
    # plain_first_convolution took any module with in_channels and kernel_size
    # attributes, so it named the block and refused it as "not a plain nn.Conv2d".
    name, conv = plain_first_convolution(nn.Sequential(Described()), "padding")
    assert name == "0.conv" and isinstance(conv, nn.Conv2d)


def test_weights_adapt_to_a_from_scratch_model_too():
    # first_conv_name looked for an nn.Conv2d only, so on a model built from cnnlab's
    # own layers it found none, and RGB weights did not fit a grey model.
    info = model_info("resnet18_small")
    rgb = get_model("resnet18_small", in_channels=3).state_dict()
    grey = get_model("resnet18_small", in_channels=1, scratch_ops=True)
    assert first_conv_name(grey) == "conv1"
    assert load_pretrained(grey, rgb, info).input_channels == (3, 1)
    torch.testing.assert_close(grey.conv1.weight, rgb["conv1.weight"].sum(1, keepdim=True))


def test_whitening_images_smaller_than_the_kernel_says_so():
    # The patch count was its own copy of the output-size formula, clamped to 1, and
    # F.unfold then failed with a RuntimeError about "sliding blocks".
    model = nn.Sequential(nn.Conv2d(1, 4, 5))
    with pytest.raises(ValueError, match="kernel spans 5 .* padded input is only 3 wide"):
        whiten_stem(model, [torch.randn(2, 1, 3, 3)])


def test_replace_submodule_puts_a_module_at_a_dotted_path_and_refuses_a_missing_one():
    # nn.Module.set_submodule arrived in torch 2.5; pyproject admits 2.4.
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.Linear(2, 2))
    replace_submodule(model, "0.1", nn.Identity())
    replace_submodule(model, "1", nn.Identity())
    assert isinstance(model[0][1], nn.Identity) and isinstance(model[1], nn.Identity)
    with pytest.raises(AttributeError, match="no submodule '0.7'"):
        replace_submodule(model, "0.7", nn.Identity())
