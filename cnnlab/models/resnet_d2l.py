"""The Dive into Deep Learning chapter's residual networks (d2l 8.6): ``resnet18_d2l`` and
``resnext_d2l``, for 1x96x96 Fashion-MNIST input.

They differ from torchvision's forms (``resnet.py``) where the book does: every conv keeps
PyTorch's default bias (the book's ``LazyConv2d`` layers), ``Residual``'s shortcut is a
biased 1x1 conv without BN, and weights are Xavier-initialised. Module names follow the
book (``b1``, ``stages.b2``, ..., ``conv1``/``bn1``), so they are checkpoint keys: keep them.

Read top-down: the blocks, the network, the variant table, the registered builders.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from cnnlab.models._base import (
    PooledFcNet,
    build_from_config,
    linear_head,
    require_whole,
    xavier_init,
)
from cnnlab.models._registry import BookRecipe, register_model
from cnnlab.models.resnet import _RESNET, _RESNEXT, LayerFn, conv1x1, conv3x3
from cnnlab.ops.conv import is_whole

# ---------------------------------------------------------------------------
# Blocks and network. Convs keep PyTorch's default bias, as the book's LazyConv2d
# layers do.


class Residual(nn.Module):
    """The book's residual block: two 3x3 conv-BN, ReLU between and after the sum.

    With ``use_1x1conv`` the shortcut is a biased 1x1 conv with the block's stride and
    *no* BN (the book's ``conv3``), unlike torchvision's conv-BN ``downsample``.
    """

    def __init__(self, in_channels: int, num_channels: int, use_1x1conv: bool = False,
                 stride: int = 1, norm_layer: LayerFn = nn.BatchNorm2d,
                 act_layer: LayerFn = nn.ReLU):
        super().__init__()
        self.conv1 = conv3x3(in_channels, num_channels, stride, bias=True)
        self.conv2 = conv3x3(num_channels, num_channels, bias=True)
        self.conv3 = conv1x1(in_channels, num_channels, stride, bias=True) if use_1x1conv else None
        self.bn1 = norm_layer(num_channels)
        self.bn2 = norm_layer(num_channels)
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.conv3 is None else self.conv3(x)
        return self.act(y + shortcut)


class ResNeXtBlock(nn.Module):
    """The book's ResNeXt block: 1x1 -> grouped 3x3 -> 1x1, each with BN.

    ``group_width`` is the channels per group of the 3x3 conv (the book calls it
    ``groups``, but passes ``bot_channels // groups`` as the conv's group count). The
    bottleneck has ``round(num_channels * bot_mul)`` channels. With ``use_1x1conv``
    the shortcut is a 1x1 conv followed by BN (``conv4``, ``bn4``).
    """

    def __init__(self, in_channels: int, num_channels: int, group_width: int, bot_mul: float,
                 use_1x1conv: bool = False, stride: int = 1,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = nn.ReLU):
        super().__init__()
        require_whole("BookResNetCfg", "group_width", group_width)
        bot_channels = int(round(num_channels * bot_mul))
        if not bot_mul > 0 or bot_channels < 1:
            raise ValueError(f"BookResNetCfg.bot_mul must leave the bottleneck at least one "
                             f"channel, got {bot_mul} ({num_channels} x {bot_mul} rounds to "
                             f"{bot_channels})")
        if bot_channels % group_width:
            raise ValueError(
                f"ResNeXtBlock: bottleneck width {bot_channels} (= {num_channels} x bot_mul "
                f"{bot_mul}) is not a multiple of group_width {group_width}; choose a "
                "group_width that divides it"
            )
        self.conv1 = conv1x1(in_channels, bot_channels, bias=True)
        self.conv2 = conv3x3(bot_channels, bot_channels, stride,
                             groups=bot_channels // group_width, bias=True)
        self.conv3 = conv1x1(bot_channels, num_channels, bias=True)
        self.bn1 = norm_layer(bot_channels)
        self.bn2 = norm_layer(bot_channels)
        self.bn3 = norm_layer(num_channels)
        if use_1x1conv:
            self.conv4 = conv1x1(in_channels, num_channels, stride, bias=True)
            self.bn4 = norm_layer(num_channels)
        else:
            self.conv4 = self.bn4 = None
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.bn1(self.conv1(x)))
        y = self.act(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.conv4 is None else self.bn4(self.conv4(x))
        return self.act(y + shortcut)


@dataclass(frozen=True)
class BookResNetCfg:
    """``arch``: (num_residuals, num_channels) per stage, as the book's ``ResNet(arch)``."""

    arch: tuple[tuple[int, int], ...]
    block: str = "residual"  # "residual" (Residual) or "resnext" (ResNeXtBlock)
    group_width: int = 16  # ResNeXt only
    bot_mul: float = 1.0  # ResNeXt only


class BookResNet(PooledFcNet):
    """The book's ``ResNet``: b1 (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), one stage per
    ``arch`` entry (b2, b3, ...), then global average pool and a linear layer.

    The first block of every stage but the first halves the resolution through a
    strided 1x1 shortcut, as the book's ``block(..., first_block)`` does.
    """

    def __init__(self, cfg: BookResNetCfg, num_classes: int = 10, in_channels: int = 1,
                 norm_layer: LayerFn = nn.BatchNorm2d, act_layer: LayerFn = nn.ReLU):
        super().__init__()
        # A stage of 0 residuals was left out silently, its downsampling with it.
        if not cfg.arch or any(not isinstance(s, (tuple, list)) or len(s) != 2
                               or not all(is_whole(v) and v >= 1 for v in s) for s in cfg.arch):
            raise ValueError(f"BookResNetCfg.arch must be (num_residuals, num_channels) pairs of "
                             f"whole numbers >= 1, one per stage, got {cfg.arch!r}")
        if cfg.block == "residual":
            block = Residual
        elif cfg.block == "resnext":
            block = partial(ResNeXtBlock, group_width=cfg.group_width, bot_mul=cfg.bot_mul)
        else:
            raise ValueError(f"BookResNetCfg.block must be 'residual' or 'resnext', "
                             f"not {cfg.block!r}")
        self.b1 = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
            norm_layer(64), act_layer(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        stages, width = OrderedDict(), 64
        for i, (num_residuals, num_channels) in enumerate(cfg.arch):
            blocks = []
            for j in range(num_residuals):
                downsample = j == 0 and i > 0
                # The book's rule (1x1 conv only where it downsamples) would fail on a
                # first stage wider than 64; adding the 1x1 there keeps the book's configs
                # unchanged and makes the others work.
                blocks.append(block(width, num_channels, stride=2 if downsample else 1,
                                    use_1x1conv=downsample or width != num_channels,
                                    norm_layer=norm_layer, act_layer=act_layer))
                width = num_channels
            stages[f"b{i + 2}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        self.num_features = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = linear_head(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.b1(x))



# ---------------------------------------------------------------------------
# Variant table.

book_cfgs = dict(
    resnet18_d2l=BookResNetCfg(arch=((2, 64), (2, 128), (2, 256), (2, 512))),
    # The book defines ResNeXtBlock but builds no ResNeXt network. This one is the book's
    # ResNet-18 with ResNeXt blocks of group width 16 and bottleneck multiplier 1: the
    # block the book demonstrates (ResNeXtBlock(32, 16, 1)) and the values of its RegNetX32.
    resnext_d2l=BookResNetCfg(arch=((2, 64), (2, 128), (2, 256), (2, 512)), block="resnext",
                              group_width=16, bot_mul=1.0),
)


def _book(variant: str, num_classes: int, in_channels: int, **overrides) -> BookResNet:
    # The book calls apply_init(..., init_cnn) for ResNet: Xavier-uniform weights.
    return build_from_config(book_cfgs[variant], BookResNet, num_classes, in_channels,
                             **overrides).initialise(xavier_init)


# ---------------------------------------------------------------------------
# Registered builders.

_BOOK = dict(family="resnet", input_size=(1, 96, 96), variant="book", min_input_size=1)


@register_model(**_BOOK, paper=_RESNET,
                book_recipe=BookRecipe(lr=0.01, resize=96, book_accuracy=0.903))
def resnet18_d2l(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """The book's ResNet-18: biased convs, 1x1 shortcut conv without BN."""
    return _book("resnet18_d2l", num_classes, in_channels, **overrides)


@register_model(**_BOOK, paper=_RESNEXT)  # its block is ResNeXt's, not ResNet's
def resnext_d2l(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """The book's ResNeXt block (group width 16, bot_mul 1) on the book's ResNet-18 stages,
    with their Xavier init: built from the book's parts, but the book itself defines and
    demonstrates the block and builds no ResNeXt network (so it has no book recipe)."""
    return _book("resnext_d2l", num_classes, in_channels, **overrides)
