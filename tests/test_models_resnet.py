"""ResNet family: the book's ResNet-18 / ResNeXt, torchvision's ResNets, small-input
forms, pre-activation ResNets and Wide ResNets."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import get_model, model_info
from cnnlab.models.preact_resnet import PreActBlock, wide_resnet_cfg
from cnnlab.models.resnet_d2l import ResNeXtBlock


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_on_meta(name: str, **kw) -> nn.Module:
    # Shapes only: no memory, no init cost. Enough for parameter counts.
    with torch.device("meta"):
        return get_model(name, **kw)


def meta_shape(module: nn.Module, *shape: int) -> tuple[int, ...]:
    """Output shape of a meta-device ``module``: shape arithmetic without the FLOPs."""
    return tuple(module(torch.empty(*shape, device="meta")).shape)


# --- torchvision equivalence ------------------------------------------------------

@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_standard_variant_reproduces_torchvision(name):
    torch.manual_seed(0)
    tv = getattr(torchvision.models, name)().eval()
    # Built on meta (skipping a second random init of up to 69M weights), then given
    # torchvision's tensors: a strict load still checks every key and shape.
    ours = build_on_meta(name).eval()
    assert n_params(ours) == n_params(tv)
    ours.load_state_dict(tv.state_dict(), assign=True)
    x = torch.randn(2, 3, 32, 32)  # small, to keep the CPU test fast
    with torch.no_grad():
        diff = (ours(x) - tv(x)).abs().max().item()
    assert diff < 1e-5


@pytest.mark.parametrize("name", [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
])
def test_parameter_count_equals_torchvision_published(name):
    info = model_info(name)
    assert info.torchvision_name == name and info.variant == "standard"
    published = torchvision.models.get_model_weights(name).DEFAULT.meta["num_params"]
    assert n_params(build_on_meta(name)) == published


def test_in_channels_changes_only_the_first_conv():
    rgb, grey = build_on_meta("resnet18"), build_on_meta("resnet18", in_channels=1)
    assert grey.conv1.weight.shape == (64, 1, 7, 7)
    assert n_params(rgb) - n_params(grey) == 2 * 64 * 7 * 7


def test_torchvision_init_and_zero_init_residual():
    torch.manual_seed(0)
    model = get_model("resnet50", num_classes=10)
    w = model.conv1.weight  # He normal, fan-out mode: std = sqrt(2 / (64 * 7 * 7))
    assert w.std().item() == pytest.approx(math.sqrt(2 / (64 * 49)), rel=0.1)
    assert all(b.bn3.weight.eq(1).all() for stage in (model.layer1, model.layer4) for b in stage)
    zeroed = get_model("resnet18", num_classes=10, zero_init_residual=True)
    blocks = [b for s in (zeroed.layer1, zeroed.layer2, zeroed.layer3, zeroed.layer4) for b in s]
    assert all(b.bn2.weight.eq(0).all() and b.bn1.weight.eq(1).all() for b in blocks)
    # With every residual branch at zero, a stride-1 block is ReLU(identity).
    x = torch.randn(2, 64, 8, 8).relu()
    assert torch.equal(zeroed.layer1[0].eval()(x), x)


def test_overrides_go_to_config_or_model_and_typos_fail_clearly():
    model = build_on_meta("resnet18", depths=(1, 1, 1, 1))
    assert len(model.layer1) == 1
    with pytest.raises(TypeError, match="zero_init_residual"):
        get_model("resnet18", zero_init_resdual=True)
    with pytest.raises(ValueError, match="bottleneck"):
        get_model("resnet18", groups=32)


# --- the book's ResNet-18 and ResNeXt ---------------------------------------------

def conv(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out  # the book's convs keep their bias


def book_resnet18_param_count(in_channels: int, num_classes: int) -> int:
    bn = 2  # gamma and beta per channel
    total = conv(7, in_channels, 64) + bn * 64  # b1
    c_in = 64
    for i, c in enumerate((64, 128, 256, 512)):
        for j in range(2):
            total += conv(3, c_in, c) + conv(3, c, c) + 2 * bn * c
            if j == 0 and i > 0:
                total += conv(1, c_in, c)  # 1x1 shortcut, no BN
            c_in = c
    return total + 512 * num_classes + num_classes


def test_book_resnet18_parameter_count_shape_and_init():
    assert book_resnet18_param_count(1, 10) == 11_178_378
    info = model_info("resnet18_d2l")
    assert info.variant == "book" and info.input_size == (1, 96, 96)
    assert info.book_recipe.lr == 0.01 and info.book_recipe.init == "xavier"
    assert meta_shape(build_on_meta("resnet18_d2l"), 2, 1, 96, 96) == (2, 10)
    torch.manual_seed(0)
    model = get_model("resnet18_d2l")
    assert n_params(model) == 11_178_378
    assert torch.isfinite(model(torch.randn(2, 1, 32, 32))).all()
    # Xavier-uniform bound sqrt(6 / (fan_in + fan_out)) = 0.072 for a 64->64 3x3 conv;
    # PyTorch's default init would stay within 1/sqrt(576) = 0.042.
    w = model.stages.b2[0].conv1.weight
    bound = math.sqrt(6 / (2 * 64 * 9))
    assert 0.9 * bound < w.abs().max().item() <= bound


def test_book_residual_shortcut_is_a_biased_conv_without_bn():
    model = build_on_meta("resnet18_d2l")
    assert model.stages.b2[0].conv3 is None
    first = model.stages.b3[0]
    assert first.conv3.kernel_size == (1, 1) and first.conv3.stride == (2, 2)
    assert first.conv3.bias is not None and first.conv1.bias is not None
    assert not any(isinstance(m, nn.BatchNorm2d) for m in first.conv3.modules())


def test_resnext_block_group_width_means_channels_per_group():
    block = ResNeXtBlock(32, 64, group_width=16, bot_mul=0.5, use_1x1conv=True, stride=2)
    assert block.conv2.groups == 2 and block.conv2.in_channels == 32  # 32 / 16 groups
    assert block(torch.randn(2, 32, 8, 8)).shape == (2, 64, 4, 4)
    with pytest.raises(ValueError, match="group_width"):
        ResNeXtBlock(64, 64, group_width=24, bot_mul=1.0)


def test_book_resnext_builds_and_runs():
    model = get_model("resnext_d2l")
    assert model.stages.b5[0].conv2.groups == 512 // 16
    assert model.stages.b5[0].bn4 is not None  # the ResNeXt shortcut does have BN
    assert torch.isfinite(model(torch.randn(2, 1, 32, 32))).all()
    assert meta_shape(build_on_meta("resnext_d2l"), 2, 1, 96, 96) == (2, 10)


# --- small-input forms ------------------------------------------------------------

@pytest.mark.parametrize("name", ["resnet18_small", "resnext50_32x4d_small"])
def test_small_variants_keep_28x28_through_the_stem(name):
    assert model_info(name).input_size == (1, 28, 28)
    model = build_on_meta(name)
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    assert meta_shape(stem, 2, 1, 28, 28) == (2, 64, 28, 28)
    assert meta_shape(model.forward_features, 2, 1, 28, 28)[-2:] == (4, 4)
    assert meta_shape(model, 2, 1, 28, 28) == (2, 10)
    # The standard stem, for contrast, leaves 7x7 of a 28x28 image.
    std = build_on_meta(name.removesuffix("_small"))
    assert meta_shape(nn.Sequential(std.conv1, std.maxpool), 2, 3, 28, 28)[-2:] == (7, 7)


def test_interface_members():
    model = get_model("resnet18_small", num_classes=7)
    x = torch.randn(2, 1, 8, 8)
    feats = model.forward_features(x)
    assert model.forward_head(feats, pre_logits=True).shape == (2, model.num_features)
    assert model.get_classifier() is model.fc and model(x).shape == (2, 7)
    model.reset_classifier(3)
    assert model(x).shape == (2, 3)


# --- pre-activation ResNets and Wide ResNets -------------------------------------

def test_preact_block_applies_bn_relu_before_each_conv_and_nothing_after_the_sum():
    torch.manual_seed(0)
    block = PreActBlock(16, 16).eval()
    for bn in (block.bn1, block.bn2):  # non-trivial BN so a wrong order shows
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 2)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        branch = block.conv2(block.bn2(block.conv1(block.bn1(x).relu())).relu())
        assert torch.allclose(block(x), branch + x, atol=1e-6)
        proj = PreActBlock(16, 32, stride=2).eval()
        pre = proj.bn1(x).relu()  # the projection reads the pre-activated input
        expect = proj.conv2(proj.bn2(proj.conv1(pre)).relu()) + proj.shortcut(pre)
        assert torch.allclose(proj(x), expect, atol=1e-6)
    order = []
    for name in ("bn1", "conv1", "bn2", "conv2"):
        getattr(block, name).register_forward_hook(lambda *_, n=name: order.append(n))
    block(x)
    assert order == ["bn1", "conv1", "bn2", "conv2"]


@pytest.mark.parametrize("name, published, exact", [
    ("wrn28_10", 36.5e6, 36_479_194),
    ("wrn40_4", 8.9e6, 8_949_210),
])
def test_wide_resnet_parameter_counts(name, published, exact):
    # CIFAR-10 form (3 input channels), as the WRN paper reports its sizes.
    count = n_params(build_on_meta(name, in_channels=3, num_classes=10))
    assert count == exact
    assert abs(count - published) / published < 0.01


def test_wide_resnet_structure_and_dropout():
    cfg = wide_resnet_cfg(28, 10)
    assert cfg.depths == (4, 4, 4) and cfg.widths == (160, 320, 640)
    with pytest.raises(ValueError, match="6n"):
        wide_resnet_cfg(30, 2)
    model = get_model("wrn40_4", drop_rate=0.3)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 18 and all(d.p == 0.3 for d in drops)
    assert not any(isinstance(m, nn.Dropout) for m in get_model("wrn40_4").modules())


def test_preact_resnet18_small_input():
    meta = build_on_meta("preact_resnet18")
    assert meta_shape(meta.conv1, 2, 1, 28, 28) == (2, 64, 28, 28)
    assert meta_shape(meta.forward_features, 2, 1, 28, 28) == (2, 512, 4, 4)
    model = get_model("preact_resnet18").eval()
    with torch.no_grad():
        feats = model.forward_features(torch.randn(2, 1, 8, 8))
        assert feats.min() >= 0  # ends with BN -> ReLU, as pre-activation nets must
        assert model.forward_head(feats).shape == (2, 10)
