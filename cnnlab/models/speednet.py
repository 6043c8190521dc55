"""SpeedNet: a small network built for the fastest route to high Fashion-MNIST accuracy.

Three conv stages at 28 -> 14 -> 7 (-> 3) pixels, each ``conv3x3-BN-ReLU`` (the first
stage a 5x5 conv on the one-channel input), max-pooling between stages, then global
max+average pooling and one linear layer. No residuals: at this depth they do not
pay for themselves. BN everywhere so a one-cycle schedule with a high peak learning
rate is stable. The widths are a dataclass field, so a recipe can trade accuracy
against time. The GPU speedrun recipe uses ``speednet_wide``; on two CPU cores even
the narrow form (4.5M MACs, ~2,300 training images/s) is too slow, and the CPU recipe
uses ``lenet_modern`` (0.42M MACs, ~10,000 images/s). See ``cnnlab speedrun``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.models._base import Network, kaiming_init, linear_head, require_whole
from cnnlab.models._registry import register_model


@dataclass(frozen=True)
class SpeedNetCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("speednet", dropout=0.1)``)."""

    widths: tuple[int, ...] = (24, 48, 96)
    convs_per_stage: tuple[int, ...] = (1, 1, 1)
    first_kernel: int = 5
    dropout: float = 0.0
    # "avgmax": global max and average pooling side by side; "avg": average only.
    head_pool: str = "avgmax"


HEAD_POOLS = ("avgmax", "avg")


def conv_bn_relu(cin: int, cout: int, kernel: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SpeedNet(Network):
    """``features`` (``cfg.convs_per_stage`` conv-BN-ReLUs of each of ``cfg.widths``,
    max-pooled between stages) -> global pooling (``cfg.head_pool``) -> ``dropout`` ->
    ``fc``; see the module docstring."""

    def __init__(self, cfg: SpeedNetCfg, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        if len(cfg.widths) != len(cfg.convs_per_stage):
            raise ValueError("SpeedNetCfg: widths and convs_per_stage need the same length")
        # Checked here: a stage of 0 convs or a first kernel of 0 failed in torch or in
        # forward, a traceback.
        require_whole("SpeedNetCfg", "widths", cfg.widths)
        require_whole("SpeedNetCfg", "convs_per_stage", cfg.convs_per_stage)
        require_whole("SpeedNetCfg", "first_kernel", cfg.first_kernel)
        if cfg.head_pool not in HEAD_POOLS:
            raise ValueError(f"SpeedNetCfg.head_pool must be one of {HEAD_POOLS}, "
                             f"got {cfg.head_pool!r}")
        self.head_pool = cfg.head_pool
        layers: list[nn.Module] = []
        cin = in_channels
        for i, (width, n) in enumerate(zip(cfg.widths, cfg.convs_per_stage, strict=True)):
            if i > 0:
                layers.append(nn.MaxPool2d(2))  # 28 -> 14 -> 7 -> 3
            for j in range(n):
                kernel = cfg.first_kernel if i == 0 and j == 0 else 3
                layers += conv_bn_relu(cin, width, kernel)
                cin = width
        self.features = nn.Sequential(*layers)
        # Max and average pooling side by side: max keeps "is there a heel anywhere",
        # average keeps overall shape. Measured (narrow net, 12 epochs, CPU, one run
        # each; BENCHMARKS.md "SpeedNet's head"): 91.38% against 89.85% for average
        # pooling alone, though the large max features (~2 per channel after BN) make
        # the first steps' loss spike (2.3 -> ~9 within 12 steps at the GPU recipe's lr)
        # where average pooling alone falls smoothly.
        self.num_features = (2 if cfg.head_pool == "avgmax" else 1) * cin
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = linear_head(self.num_features, num_classes)
        self.initialise(kaiming_init)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.head_pool == "avgmax":
            x = torch.cat([x.amax(dim=(2, 3)), x.mean(dim=(2, 3))], dim=1)  # (B, 2C)
        else:
            x = x.mean(dim=(2, 3))  # (B, C)
        x = self.dropout(x)
        return x if pre_logits else self.fc(x)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        self.fc = self.init_head(linear_head(self.num_features, num_classes))


SPEEDNET_CFGS = {
    "speednet": SpeedNetCfg(),
    "speednet_wide": SpeedNetCfg(widths=(64, 128, 256), convs_per_stage=(1, 2, 2),
                                 first_kernel=3, dropout=0.1),
    # The GPU speedrun recipe's net (since 2026-12-04): speednet_wide with two convs in
    # its first stage too, 116M MACs; named, so `train` and `summary` reach it by name.
    "speednet_gpu": SpeedNetCfg(widths=(64, 128, 256), convs_per_stage=(2, 2, 2),
                                first_kernel=3, dropout=0.1),
}


def _speednet(variant: str, num_classes: int, in_channels: int, overrides) -> SpeedNet:
    cfg = dataclasses.replace(SPEEDNET_CFGS[variant], **overrides)
    return SpeedNet(cfg, num_classes=num_classes, in_channels=in_channels)


@register_model(family="speednet", paper="cnnlab speedrun (this project)", input_size=(1, 28, 28),
                min_input_size=4)
def speednet(num_classes=10, in_channels=1, **overrides) -> SpeedNet:
    """cnnlab's speedrun network for 28x28 images, narrow form (24-48-96 channels)."""
    return _speednet("speednet", num_classes, in_channels, overrides)


@register_model(family="speednet", paper="cnnlab speedrun (this project)", input_size=(1, 28, 28),
                min_input_size=4)
def speednet_wide(num_classes=10, in_channels=1, **overrides) -> SpeedNet:
    """The speedrun network widened for a GPU (5 convs, 64-128-256 channels)."""
    return _speednet("speednet_wide", num_classes, in_channels, overrides)


@register_model(family="speednet", paper="cnnlab speedrun (this project)", input_size=(1, 28, 28),
                min_input_size=4)
def speednet_gpu(num_classes=10, in_channels=1, **overrides) -> SpeedNet:
    """The GPU speedrun recipe's network: two convs per stage, 64-128-256 channels."""
    return _speednet("speednet_gpu", num_classes, in_channels, overrides)
