"""Pre-activation residual networks: ResNet v2 and Wide ResNets, for small images.

He et al. 2016 ("Identity Mappings in Deep Residual Networks") move BN and ReLU in
front of each conv (BN -> ReLU -> conv) and leave the sum un-activated, so the
shortcut path is a pure identity from the first block to the last; one BN -> ReLU
after the final block normalises what the classifier reads. Zagoruyko & Komodakis
2016 ("Wide Residual Networks") use the same block, widened by ``k`` and with
optional dropout between its two convs.

Both are registered in their CIFAR form (3x3 stride-1 stem, no max-pool), the form
built for 28-32 px images: ``preact_resnet18``, ``preact_resnet34``, ``wrn28_10``,
``wrn40_4``; default input 1x28x28 (Fashion-MNIST), 10 classes.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from cnnlab.models.resnet import LayerFn, conv1x1, conv3x3, default_act


class PreActBlock(nn.Module):
    """BN -> ReLU -> 3x3 conv -> BN -> ReLU -> (dropout) -> 3x3 conv, plus shortcut.

    Where the block changes width or resolution, the shortcut is a strided 1x1 conv
    applied to the *pre-activated* input (as in He et al.'s and the WRN authors' code),
    so the BN -> ReLU is computed once and shared by both paths. Otherwise the shortcut
    is the raw input, untouched.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, drop_rate: float = 0.0,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = default_act):
        super().__init__()
        self.bn1 = norm_layer(in_ch)
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.bn2 = norm_layer(out_ch)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.conv2 = conv3x3(out_ch, out_ch)
        self.act = act_layer()
        needs_projection = stride != 1 or in_ch != out_ch
        self.shortcut = conv1x1(in_ch, out_ch, stride) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # An in-place activation is safe here: it overwrites BN's output, never x, which
        # the identity shortcut still needs.
        pre = self.act(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(pre)
        y = self.conv1(pre)
        y = self.conv2(self.dropout(self.act(self.bn2(y))))
        return y + shortcut


@dataclass(frozen=True)
class PreActCfg:
    """Stage depths and widths; the first stage keeps the resolution, the rest halve it."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    stem_width: int
    drop_rate: float = 0.0  # dropout inside each block (WRN uses 0.3 on CIFAR)


def wide_resnet_cfg(depth: int, widen_factor: int, drop_rate: float = 0.0) -> PreActCfg:
    """WRN-``depth``-``widen_factor``: three groups of widths 16k, 32k, 64k with
    n = (depth - 4) / 6 two-conv blocks each, the paper's depth convention."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"WRN depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), "
                         f"got {depth}")
    n = (depth - 4) // 6
    k = widen_factor
    return PreActCfg(depths=(n, n, n), widths=(16 * k, 32 * k, 64 * k), stem_width=16,
                     drop_rate=drop_rate)


class PreActResNet(PooledFcNet):
    """Pre-activation ResNet: 3x3 stem conv, stages of ``PreActBlock``, final BN-ReLU,
    global average pool, linear classifier.

    Module names: ``conv1``, ``layer1``..``layerN``, ``bn``, ``fc``.
    """

    def __init__(self, cfg: PreActCfg, num_classes: int = 10, in_channels: int = 1,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = default_act):
        super().__init__()
        if len(cfg.depths) != len(cfg.widths) or not cfg.depths:
            raise ValueError(f"PreActCfg needs one width per stage depth, got depths "
                             f"{cfg.depths} and widths {cfg.widths}")
        # A stage of depth 0 was left out silently (its downsampling too); a width of 0
        # failed in the first forward.
        require_whole("PreActCfg", "depths", cfg.depths)
        require_whole("PreActCfg", "widths", cfg.widths)
        require_whole("PreActCfg", "stem_width", cfg.stem_width)
        # No BN/ReLU after the stem: the first block starts with its own BN -> ReLU.
        self.conv1 = conv3x3(in_channels, cfg.stem_width)
        in_ch = cfg.stem_width
        self.num_stages = len(cfg.depths)
        for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True)):
            blocks = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(PreActBlock(in_ch, width, stride, cfg.drop_rate,
                                          norm_layer, act_layer))
                in_ch = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.bn = norm_layer(in_ch)
        self.act = act_layer()
        self.num_features = in_ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = linear_head(in_ch, num_classes)
        self.initialise(kaiming_init)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.act(self.bn(x))



model_cfgs = dict(
    preact_resnet18=PreActCfg(depths=(2, 2, 2, 2), widths=(64, 128, 256, 512), stem_width=64),
    preact_resnet34=PreActCfg(depths=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64),
    wrn28_10=wide_resnet_cfg(28, 10),
    wrn40_4=wide_resnet_cfg(40, 4),
)


def _create(variant: str, num_classes: int, in_channels: int, **overrides) -> PreActResNet:
    return build_from_config(model_cfgs[variant], PreActResNet, num_classes, in_channels,
                             **overrides)


_PREACT = "He et al. 2016, Identity Mappings in Deep Residual Networks"
_WRN = "Zagoruyko & Komodakis 2016, Wide Residual Networks"


def _register(paper: str):
    # Padded 3x3 convs never shrink a map below 1 px, so any input size works.
    return register_model(family="resnet", paper=paper, input_size=(1, 28, 28),
                          num_classes=10, variant="cnnlab", min_input_size=1)


@_register(_PREACT)
def preact_resnet18(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """Pre-activation ResNet-18 (v2), 3x3 stride-1 stem for 28-32 px images."""
    return _create("preact_resnet18", num_classes, in_channels, **overrides)


@_register(_PREACT)
def preact_resnet34(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """Pre-activation ResNet-34 (v2), 3x3 stride-1 stem for 28-32 px images."""
    return _create("preact_resnet34", num_classes, in_channels, **overrides)


@_register(_WRN)
def wrn28_10(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """Wide ResNet 28-10 (36.5M parameters on CIFAR-10); drop_rate=0.3 for the paper's dropout."""
    return _create("wrn28_10", num_classes, in_channels, **overrides)


@_register(_WRN)
def wrn40_4(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """Wide ResNet 40-4 (8.9M parameters on CIFAR-10)."""
    return _create("wrn40_4", num_classes, in_channels, **overrides)
