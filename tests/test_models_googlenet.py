"""GoogLeNet: the book's form (googlenet_d2l) and torchvision's (googlenet)."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import get_model, model_info
from cnnlab.models.googlenet import GoogLeNetOutputs


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# torchvision before 0.21 returned the two auxiliary heads' logits in each other's fields
# (pytorch/vision#8736); cnnlab's googlenet names them as torchvision 0.21 and later do.
TORCHVISION_SWAPS_AUX = tuple(int(n) for n in torchvision.__version__.split(".")[:2]) < (0, 21)


def torchvision_googlenet(**kw) -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.googlenet(init_weights=True, **kw)


# --- torchvision equivalence ------------------------------------------------------

def test_googlenet_reproduces_torchvision():
    tv = torchvision_googlenet(aux_logits=False).eval()
    ours = get_model("googlenet").eval()
    assert n_params(ours) == n_params(tv) == 6_624_904  # torchvision's published count
    ours.load_state_dict(tv.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (ours(x) - tv(x)).abs().max().item() < 1e-5
    info = model_info("googlenet")
    assert info.torchvision_name == "googlenet" and info.input_size == (3, 224, 224)


def test_aux_heads_match_torchvision_in_training_and_vanish_in_eval():
    tv = torchvision_googlenet(aux_logits=True)
    ours = get_model("googlenet", aux_logits=True)
    assert n_params(ours) == n_params(tv)
    ours.load_state_dict(tv.state_dict())
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(1)  # same dropout masks: both run the same ops in the same order
    expected = tv.train()(x)
    if TORCHVISION_SWAPS_AUX:  # aux1's logits came out as aux_logits2 and vice versa
        expected = expected._replace(aux_logits2=expected.aux_logits1,
                                     aux_logits1=expected.aux_logits2)
    torch.manual_seed(1)
    out = ours.train()(x)
    assert isinstance(out, GoogLeNetOutputs) and out._fields == expected._fields
    for a, b in zip(out, expected, strict=True):
        assert (a - b).abs().max().item() < 1e-5
    with torch.no_grad():
        assert isinstance(ours.eval()(x), torch.Tensor)
    ours.reset_classifier(5)
    assert ours.aux1.fc2.out_features == ours.aux2.fc2.out_features == 5
    assert all(t.shape == (2, 5) for t in ours.train()(x))
    ours.reset_classifier(0)  # headless: features out, in training too, no 0-wide aux heads
    assert ours.aux1 is None and ours.train()(x).shape == (2, 1024)
    with pytest.raises(ValueError, match="headless GoogLeNet.*aux_logits=False"):
        get_model("googlenet", num_classes=0, aux_logits=True)


def test_transform_input_matches_torchvision_and_needs_rgb():
    tv = torchvision_googlenet(aux_logits=False, transform_input=True).eval()
    ours = get_model("googlenet", transform_input=True).eval()
    ours.load_state_dict(tv.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert (ours(x) - tv(x)).abs().max().item() < 1e-5
    with pytest.raises(ValueError, match="transform_input"):
        get_model("googlenet", in_channels=1, transform_input=True)


def test_standard_inception_uses_3x3_where_the_paper_says_5x5():
    model = get_model("googlenet", num_classes=10)
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3)
    assert model.conv1.conv.in_channels == 3 and model.conv1.bn.eps == 1e-3
    grey = get_model("googlenet", num_classes=10, in_channels=1)
    assert grey.conv1.conv.weight.shape == (64, 1, 7, 7)


def test_min_input_size_is_the_smallest_accepted():
    size = model_info("googlenet").min_input_size
    model = get_model("googlenet", num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, 10)
        with pytest.raises(RuntimeError):
            model(torch.randn(1, 3, size - 1, size - 1))
        book = get_model("googlenet_d2l").eval()
        assert book(torch.randn(1, 1, 1, 1)).shape == (1, 10)


# --- the book's GoogLeNet -----------------------------------------------------------

def conv(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out  # the book's convs keep their bias


def book_googlenet_param_count(in_channels: int, num_classes: int) -> int:
    total = conv(7, in_channels, 64) + conv(1, 64, 64) + conv(3, 64, 192)  # b1, b2
    blocks = [  # Szegedy et al. 2015, Table 1 (as the book writes them)
        (64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64),
        (192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128), (256, (160, 320), (32, 128), 128),
        (384, (192, 384), (48, 128), 128),
    ]
    c_in = 192
    for c1, (r3, c3), (r5, c5), c4 in blocks:
        total += conv(1, c_in, c1) + conv(1, c_in, r3) + conv(3, r3, c3)
        total += conv(1, c_in, r5) + conv(5, r5, c5) + conv(1, c_in, c4)
        c_in = c1 + c3 + c5 + c4
    assert c_in == 1024
    return total + 1024 * num_classes + num_classes


def test_book_googlenet_structure_count_and_init():
    info = model_info("googlenet_d2l")
    assert info.variant == "book" and info.input_size == (1, 96, 96)
    assert info.book_recipe.lr == 0.01 and info.book_recipe.resize == 96
    torch.manual_seed(0)
    model = get_model("googlenet_d2l")
    assert n_params(model) == book_googlenet_param_count(1, 10) == 5_977_530
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.b3[0].p3_2.kernel_size == (5, 5)  # the book keeps the paper's 5x5
    # Xavier-uniform: the bound sqrt(6 / (fan_in + fan_out)) is reached, which
    # PyTorch's default (bound 1/sqrt(fan_in)) would not: 0.036 vs 0.024 here.
    w = model.b2[2].weight  # 64 -> 192, 3x3
    bound = math.sqrt(6 / (64 * 9 + 192 * 9))
    assert 0.9 * bound < w.abs().max().item() <= bound


def test_book_googlenet_output_at_96():
    with torch.device("meta"):
        model = get_model("googlenet_d2l", num_classes=7)
        features = model.forward_features(torch.empty(2, 1, 96, 96))
        assert features.shape == (2, 1024, 3, 3)
        assert model.forward_head(features).shape == (2, 7)
    model = get_model("googlenet_d2l", num_classes=7)
    x = torch.randn(2, 1, 32, 32)  # a real forward, smaller to stay fast on CPU
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (2, 1024)
    model.reset_classifier(3)
    assert model(x).shape == (2, 3) and model.get_classifier().out_features == 3
