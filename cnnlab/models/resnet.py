"""torchvision's residual networks, and their small-input forms.

Read top-down: conv helpers (shared with ``resnet_d2l.py`` and ``preact_resnet.py``);
torchvision's blocks and network, whose module names equal torchvision's so its
state_dicts load unchanged; the variant table; the registered builders.

Two forms are registered here:

- ``resnet18`` ... ``wide_resnet101_2``: torchvision's ResNet "V1.5", 3x224x224 input.
- ``*_small`` (``resnet18_small``, ...): the same networks with a 3x3 stride-1 stem and
  no max-pool, for 28-32 px images, where the 7x7/2 stem plus max-pool would shrink a
  28x28 image to 7x7 before the first residual block.

The book's forms (``resnet18_d2l``, ``resnext_d2l``) live in ``resnet_d2l.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn

from cnnlab.models._base import (
    PooledFcNet,
    build_from_config,
    kaiming_init,
    linear_head,
    require_whole,
)
from cnnlab.models._registry import register_model

LayerFn = Callable[..., nn.Module]
# torchvision applies ReLU in place; it saves one activation tensor per call.
default_act = partial(nn.ReLU, inplace=True)


def conv3x3(in_ch: int, out_ch: int, stride: int = 1, groups: int = 1, bias: bool = False):
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, groups=groups, bias=bias)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=bias)


# ---------------------------------------------------------------------------
# torchvision's blocks. The stride sits on the 3x3 conv, not the first 1x1
# ("ResNet V1.5"): slightly more accurate than the paper's placement, and what
# torchvision's and most published weights use.


class BasicBlock(nn.Module):
    """3x3 -> 3x3, the stride in the first, plus the shortcut (``downsample`` where the
    shape changes): ResNet-18/34's block; ``expansion`` 1 (out width = ``planes``)."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = default_act):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock has no grouped or widened form; use the "
                             "'bottleneck' block for groups != 1 or width_per_group != 64")
        self.conv1 = conv3x3(in_ch, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = act_layer()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.bn2.is_last_bn = True  # zero_init_residual zeroes this gamma
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (grouped for ResNeXt) -> 1x1 expand by ``expansion``.

    Inner width = planes * (base_width / 64) * groups: 64 for resnet50's first stage,
    32 groups x 4 = 128 for resnext50_32x4d, 128 for wide_resnet50_2.
    """

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = default_act):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(in_ch, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.bn3.is_last_bn = True
        self.relu = act_layer()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


@dataclass(frozen=True)
class ResNetCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("resnet18", stem="small")``)."""

    block: str  # "basic" or "bottleneck"
    depths: tuple[int, int, int, int]
    groups: int = 1
    width_per_group: int = 64
    stem: str = "imagenet"  # "imagenet": 7x7/2 conv + 3x3/2 max-pool; "small": 3x3/1 conv


def make_stage(block: type[nn.Module], in_ch: int, planes: int, depth: int, stride: int,
               **block_kw) -> nn.Sequential:
    """``depth`` blocks; the first changes resolution/width, with a conv-BN shortcut."""
    out_ch = planes * block.expansion
    downsample = None
    if stride != 1 or in_ch != out_ch:
        downsample = nn.Sequential(conv1x1(in_ch, out_ch, stride), block_kw["norm_layer"](out_ch))
    layers = [block(in_ch, planes, stride, downsample, **block_kw)]
    layers += [block(out_ch, planes, **block_kw) for _ in range(depth - 1)]
    return nn.Sequential(*layers)


class ResNet(PooledFcNet):
    """torchvision's ResNet / ResNeXt / Wide ResNet (same module names and init).

    Init: He (fan-out) convs, BN as identity, the classifier at PyTorch's default;
    ``zero_init_residual`` zeroes each block's last BN gamma so every residual branch
    starts at zero (Goyal et al. 2017).
    """

    def __init__(self, cfg: ResNetCfg, num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False, norm_layer: LayerFn = nn.BatchNorm2d,
                 act_layer: LayerFn = default_act):
        super().__init__()
        if cfg.block not in BLOCKS:
            raise ValueError(f"ResNetCfg.block must be one of {sorted(BLOCKS)}, not {cfg.block!r}")
        if len(cfg.depths) != 4:
            raise ValueError(f"ResNetCfg.depths needs 4 stage depths, got {cfg.depths}")
        # A depth of 0 built one block all the same (make_stage always builds the first).
        require_whole("ResNetCfg", "depths", cfg.depths)
        require_whole("ResNetCfg", "groups", cfg.groups)
        require_whole("ResNetCfg", "width_per_group", cfg.width_per_group)
        block = BLOCKS[cfg.block]
        if cfg.stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3,
                                   bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        elif cfg.stem == "small":
            self.conv1 = conv3x3(in_channels, 64)
            self.maxpool = nn.Identity()
        else:
            raise ValueError(f"ResNetCfg.stem must be 'imagenet' or 'small', not {cfg.stem!r}")
        self.bn1 = norm_layer(64)
        self.relu = act_layer()
        block_kw = dict(groups=cfg.groups, base_width=cfg.width_per_group,
                        norm_layer=norm_layer, act_layer=act_layer)
        in_ch = 64
        for i, (planes, depth) in enumerate(zip((64, 128, 256, 512), cfg.depths, strict=True)):
            stage = make_stage(block, in_ch, planes, depth, 1 if i == 0 else 2, **block_kw)
            setattr(self, f"layer{i + 1}", stage)  # layer1..layer4, torchvision's keys
            in_ch = planes * block.expansion
        self.num_features = in_ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = linear_head(in_ch, num_classes)
        kaiming_init(self, zero_init_last_bn=zero_init_residual)
        if num_classes:  # torchvision leaves the classifier at PyTorch's default
            self.fc.reset_parameters()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))



# ---------------------------------------------------------------------------
# Variant table.

model_cfgs = dict(
    resnet18=ResNetCfg("basic", (2, 2, 2, 2)),
    resnet34=ResNetCfg("basic", (3, 4, 6, 3)),
    resnet50=ResNetCfg("bottleneck", (3, 4, 6, 3)),
    resnet101=ResNetCfg("bottleneck", (3, 4, 23, 3)),
    resnet152=ResNetCfg("bottleneck", (3, 8, 36, 3)),
    resnext50_32x4d=ResNetCfg("bottleneck", (3, 4, 6, 3), groups=32, width_per_group=4),
    resnext101_32x8d=ResNetCfg("bottleneck", (3, 4, 23, 3), groups=32, width_per_group=8),
    resnext101_64x4d=ResNetCfg("bottleneck", (3, 4, 23, 3), groups=64, width_per_group=4),
    wide_resnet50_2=ResNetCfg("bottleneck", (3, 4, 6, 3), width_per_group=128),
    wide_resnet101_2=ResNetCfg("bottleneck", (3, 4, 23, 3), width_per_group=128),
)
# Small-input forms: the standard name + "_small", same blocks, 3x3 stride-1 stem.
SMALL_VARIANTS = ("resnet18", "resnet34", "resnet50", "resnext50_32x4d")
model_cfgs.update({f"{n}_small": replace(model_cfgs[n], stem="small") for n in SMALL_VARIANTS})


def _resnet(variant: str, num_classes: int, in_channels: int, **overrides) -> ResNet:
    return build_from_config(model_cfgs[variant], ResNet, num_classes, in_channels, **overrides)


# ---------------------------------------------------------------------------
# Registered builders.

_RESNET = "He et al. 2016, Deep Residual Learning for Image Recognition"
_RESNEXT = "Xie et al. 2017, Aggregated Residual Transformations (ResNeXt)"
_WIDE = "Zagoruyko & Komodakis 2016, Wide Residual Networks"


def _standard(paper: str, tv_name: str):
    # Every input size from 1 px works: the padded convs and pools never shrink below 1.
    return register_model(family="resnet", paper=paper, input_size=(3, 224, 224),
                          num_classes=1000, variant="standard", torchvision_name=tv_name,
                          min_input_size=1)


def _small(paper: str):
    return register_model(family="resnet", paper=paper, input_size=(1, 28, 28),
                          num_classes=10, variant="cnnlab", min_input_size=1)


@_standard(_RESNET, "resnet18")
def resnet18(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNet-18 (basic blocks 2-2-2-2)."""
    return _resnet("resnet18", num_classes, in_channels, **overrides)


@_standard(_RESNET, "resnet34")
def resnet34(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNet-34 (basic blocks 3-4-6-3)."""
    return _resnet("resnet34", num_classes, in_channels, **overrides)


@_standard(_RESNET, "resnet50")
def resnet50(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNet-50 V1.5 (bottlenecks 3-4-6-3)."""
    return _resnet("resnet50", num_classes, in_channels, **overrides)


@_standard(_RESNET, "resnet101")
def resnet101(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNet-101 V1.5 (bottlenecks 3-4-23-3)."""
    return _resnet("resnet101", num_classes, in_channels, **overrides)


@_standard(_RESNET, "resnet152")
def resnet152(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNet-152 V1.5 (bottlenecks 3-8-36-3)."""
    return _resnet("resnet152", num_classes, in_channels, **overrides)


@_standard(_RESNEXT, "resnext50_32x4d")
def resnext50_32x4d(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNeXt-50 32x4d (32 groups of width 4 in the first stage)."""
    return _resnet("resnext50_32x4d", num_classes, in_channels, **overrides)


@_standard(_RESNEXT, "resnext101_32x8d")
def resnext101_32x8d(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNeXt-101 32x8d."""
    return _resnet("resnext101_32x8d", num_classes, in_channels, **overrides)


@_standard(_RESNEXT, "resnext101_64x4d")
def resnext101_64x4d(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's ResNeXt-101 64x4d."""
    return _resnet("resnext101_64x4d", num_classes, in_channels, **overrides)


@_standard(_WIDE, "wide_resnet50_2")
def wide_resnet50_2(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's Wide ResNet-50-2 (bottleneck inner width doubled)."""
    return _resnet("wide_resnet50_2", num_classes, in_channels, **overrides)


@_standard(_WIDE, "wide_resnet101_2")
def wide_resnet101_2(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's Wide ResNet-101-2 (bottleneck inner width doubled)."""
    return _resnet("wide_resnet101_2", num_classes, in_channels, **overrides)


@_small(_RESNET)
def resnet18_small(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """ResNet-18 with a 3x3 stride-1 stem and no max-pool, for 28-32 px images."""
    return _resnet("resnet18_small", num_classes, in_channels, **overrides)


@_small(_RESNET)
def resnet34_small(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """ResNet-34 with a 3x3 stride-1 stem and no max-pool, for 28-32 px images."""
    return _resnet("resnet34_small", num_classes, in_channels, **overrides)


@_small(_RESNET)
def resnet50_small(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """ResNet-50 with a 3x3 stride-1 stem and no max-pool, for 28-32 px images."""
    return _resnet("resnet50_small", num_classes, in_channels, **overrides)


@_small(_RESNEXT)
def resnext50_32x4d_small(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """ResNeXt-50 32x4d with a 3x3 stride-1 stem and no max-pool, for 28-32 px images."""
    return _resnet("resnext50_32x4d_small", num_classes, in_channels, **overrides)
