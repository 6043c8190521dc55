"""DenseNet (Huang et al., CVPR 2017): each layer sees the concatenation of all before it.

A dense block's layer i reads ``cat(x, f_1, ..., f_{i-1})`` and adds ``growth_rate``
new channels; transitions (norm, act, 1x1 conv, 2x2 average pool) halve channels
and resolution between blocks. :class:`DenseNetConfig` covers both forms:

- the book's (Dive into Deep Learning, ch. 8.7): layers are norm-act-3x3 conv
  without a bottleneck, convs keep PyTorch's default bias, growth 32, (4, 4, 4, 4);
- DenseNet-BC as torchvision builds it: a 1x1 bottleneck of ``bn_size * growth``
  channels before each 3x3 conv, no conv biases. Module names follow torchvision
  (``features.denseblock1.denselayer1.norm1``, ``classifier``), so its state_dict
  loads as is. One difference a port may meet: ``features`` ends with the final ReLU
  (``relu5``, no weights), which torchvision applies in ``forward``, so
  ``model.features(x)`` gives post-ReLU maps here (``forward_features`` too).

``memory_efficient=True`` recomputes each layer's concatenation, norm, activation
and 1x1 conv during the backward pass instead of storing them (Pleiss et al. 2017,
"Memory-Efficient Implementation of DenseNets"): stored activations then grow
linearly with depth instead of quadratically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from cnnlab.models._base import Network, build_from_config, linear_head, require_whole
from cnnlab.models._registry import BookRecipe, register_model

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]
RELU = partial(nn.ReLU, inplace=True)

# ---------------------------------------------------------------- blocks


def _norm_without_stat_update(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)`` for a recomputation: same output, running statistics left alone.

    Checkpointing runs the forward twice; a BatchNorm in training mode would fold the
    same batch into its running mean and variance twice (torchvision's
    memory-efficient DenseNet does), so its eval-mode outputs would drift from the
    plain model's. Momentum 0 keeps them exactly as they are while saving the same
    tensors for backward as the first pass did, which the checkpoint requires.
    """
    if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.training:
        return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                            training=True, momentum=0.0, eps=norm.eps)
    from cnnlab.ops.norm import BatchNorm, batch_norm

    if isinstance(norm, BatchNorm) and norm.training:  # the from-scratch BN (scratch_ops)
        return batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                          training=True, momentum=0.0, eps=norm.eps)
    return norm(x)


# Layers known to draw no random numbers, in training or not (nn.RReLU and dropout do).
_RNG_FREE = (nn.Conv2d, nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.Identity, nn.ReLU,
             nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish)


class DenseLayer(nn.Module):
    """norm1-act1-conv1 (1x1 to bn_size*growth), norm2-act2-conv2 (3x3 to growth).

    Without a bottleneck (``bn_size=None``, the book's ``conv_block``) it is only
    norm1-act1-conv1 with conv1 the 3x3 conv.
    """

    def __init__(self, c_in: int, growth_rate: int, bn_size: int | None, *, drop_rate: float,
                 bias: bool, memory_efficient: bool, norm_layer: NormLayer,
                 act_layer: ActLayer):
        super().__init__()
        width = growth_rate if bn_size is None else bn_size * growth_rate
        kernel = 3 if bn_size is None else 1
        self.norm1 = norm_layer(c_in)
        self.relu1 = act_layer()
        self.conv1 = nn.Conv2d(c_in, width, kernel, padding=kernel // 2, bias=bias)
        if bn_size is not None:
            self.norm2 = norm_layer(width)
            self.relu2 = act_layer()
            self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=bias)
        self.bottleneck = bn_size is not None
        self.drop_rate = drop_rate
        self.memory_efficient = memory_efficient

    def _first_half(self, features: list[torch.Tensor], recompute: bool) -> torch.Tensor:
        x = torch.cat(features, 1)
        x = _norm_without_stat_update(self.norm1, x) if recompute else self.norm1(x)
        return self.conv1(self.relu1(x))

    def _checkpointed_first_half(self, features: list[torch.Tensor]) -> torch.Tensor:
        calls = []

        def run(*inputs):  # the first call is the forward, later ones recompute
            calls.append(None)
            return self._first_half(list(inputs), recompute=len(calls) > 1)

        # The recomputed half draws no random numbers (dropout comes after it, in
        # forward), so the checkpoint need not keep the RNG state to replay them: 5,056
        # bytes a layer on a CPU (0.28 MiB for DenseNet-121), and a copy per GPU too.
        # A norm or activation of unknown kind (nn.RReLU draws in training) keeps it.
        return checkpoint(run, *features, use_reentrant=False,
                          preserve_rng_state=not self._first_half_is_rng_free())

    def _first_half_is_rng_free(self) -> bool:
        from cnnlab.ops.modules import Conv2d as ScratchConv2d
        from cnnlab.ops.norm import BatchNorm

        return all(isinstance(m, (*_RNG_FREE, ScratchConv2d, BatchNorm))
                   for m in (self.norm1, self.relu1, self.conv1))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        # Without grad nothing is stored anyway, so checkpointing would only cost time.
        if self.memory_efficient and torch.is_grad_enabled() and any(
                t.requires_grad for t in features):
            x = self._checkpointed_first_half(features)
        else:
            x = self._first_half(features, recompute=False)
        if self.bottleneck:
            x = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; returns the input concatenated with every new map."""

    def __init__(self, num_layers: int, c_in: int, growth_rate: int, **layer_kwargs):
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(c_in + i * growth_rate, growth_rate,
                                                    **layer_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """norm -> act -> 1x1 conv (compress channels) -> 2x2 average pool (halve resolution)."""

    def __init__(self, c_in: int, c_out: int, *, bias: bool, norm_layer: NormLayer,
                 act_layer: ActLayer):
        super().__init__()
        self.norm = norm_layer(c_in)
        self.relu = act_layer()
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=bias)
        self.pool = nn.AvgPool2d(2, stride=2)


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class DenseNetConfig:
    """A DenseNet: stem width, growth rate, layers per block, bottleneck and compression.

    ``bn_size`` is the bottleneck multiplier of DenseNet-B (None: no bottleneck);
    ``compression`` is DenseNet-C's theta, the fraction of channels a transition
    keeps (floored, as torchvision's ``num_features // 2``).
    """

    growth_rate: int = 32
    block_config: tuple[int, ...] = (6, 12, 24, 16)
    num_init_features: int = 64
    bn_size: int | None = 4
    compression: float = 0.5
    drop_rate: float = 0.0
    conv_bias: bool = False
    memory_efficient: bool = False

    def __post_init__(self):
        if self.bn_size is not None:  # None: no bottleneck; 0 failed in the first forward
            require_whole("DenseNetConfig", "bn_size", self.bn_size)
        # Before the int() below, which took 1.5 layers as 1.
        require_whole("DenseNetConfig", "block_config", self.block_config)
        require_whole("DenseNetConfig", "growth_rate", self.growth_rate)
        object.__setattr__(self, "block_config", tuple(int(n) for n in self.block_config))
        if self.growth_rate < 1 or self.num_init_features < 1 or not self.block_config or min(
                self.block_config) < 1:
            raise ValueError("DenseNetConfig needs growth_rate, num_init_features and every "
                             f"block's layer count >= 1, got {self}")
        if not 0 < self.compression <= 1 or not 0 <= self.drop_rate < 1:
            raise ValueError(f"compression must be in (0, 1] and drop_rate in [0, 1), got "
                             f"{self.compression}, {self.drop_rate}")


class DenseNet(Network):
    """``features`` (stem, dense blocks, transitions, norm5 + act) -> pool -> ``classifier``."""

    def __init__(self, cfg: DenseNetConfig, num_classes: int = 1000, in_channels: int = 3, *,
                 norm_layer: NormLayer = nn.BatchNorm2d, act_layer: ActLayer = RELU):
        super().__init__()
        self.cfg = cfg
        c = cfg.num_init_features
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(in_channels, c, 7, stride=2, padding=3,
                                                     bias=cfg.conv_bias))
        self.features.add_module("norm0", norm_layer(c))
        self.features.add_module("relu0", act_layer())
        self.features.add_module("pool0", nn.MaxPool2d(3, stride=2, padding=1))
        layer_kwargs = dict(bn_size=cfg.bn_size, drop_rate=cfg.drop_rate, bias=cfg.conv_bias,
                            memory_efficient=cfg.memory_efficient, norm_layer=norm_layer,
                            act_layer=act_layer)
        for i, num_layers in enumerate(cfg.block_config):
            block = DenseBlock(num_layers, c, cfg.growth_rate, **layer_kwargs)
            self.features.add_module(f"denseblock{i + 1}", block)
            c += num_layers * cfg.growth_rate
            if i != len(cfg.block_config) - 1:
                c_out = math.floor(c * cfg.compression)
                self.features.add_module(f"transition{i + 1}", Transition(
                    c, c_out, bias=cfg.conv_bias, norm_layer=norm_layer, act_layer=act_layer))
                c = c_out
        self.features.add_module("norm5", norm_layer(c))
        self.features.add_module("relu5", act_layer())  # torchvision applies it in forward()
        self.num_features = c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = linear_head(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.classifier(x)

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = self.init_head(linear_head(self.num_features, num_classes))


def torchvision_init(model: nn.Module) -> nn.Module:
    """torchvision's DenseNet init: He-normal (fan-in) convs, BN 1/0, zero linear bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    return model


def _torchvision_form(model: DenseNet) -> DenseNet:
    return model.initialise(torchvision_init)  # reset_classifier: a zero bias again


# Old torchvision checkpoints (the LuaTorch ports) name layer parts "norm.1",
# "conv.2", ...; module names can no longer contain dots, so they became "norm1".
_LEGACY_LAYER_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")


def torchvision_densenet_key(key: str) -> str:
    """Map a torchvision DenseNet state_dict key to ours: identical, except that the
    legacy ``...denselayer1.norm.1.weight`` form becomes ``...denselayer1.norm1.weight``."""
    match = _LEGACY_LAYER_KEY.match(key)
    return match[1] + match[2] if match else key


# ---------------------------------------------------------------- variants

DENSENETS = {
    # The book: stem 64, growth 32, four blocks of 4 plain (non-bottleneck) layers.
    "densenet_d2l": DenseNetConfig(growth_rate=32, block_config=(4, 4, 4, 4),
                                   num_init_features=64, bn_size=None, conv_bias=True),
    # Huang et al. Table 1 (DenseNet-BC, k=32), as torchvision builds them.
    "densenet121": DenseNetConfig(block_config=(6, 12, 24, 16)),
    "densenet161": DenseNetConfig(growth_rate=48, block_config=(6, 12, 36, 24),
                                  num_init_features=96),
    "densenet169": DenseNetConfig(block_config=(6, 12, 32, 32)),
    "densenet201": DenseNetConfig(block_config=(6, 12, 48, 32)),
}

# 29 px is the smallest input whose map survives the stem's two and the three
# transitions' halvings: 29 -> 15 -> 8 -> 4 -> 2 -> 1.
_MIN_INPUT = 29
PAPER = "Huang et al. 2017, Densely Connected Convolutional Networks"


def _standard(name: str) -> Callable:
    return register_model(family="densenet", paper=PAPER, input_size=(3, 224, 224),
                          num_classes=1000, variant="standard", torchvision_name=name,
                          torchvision_key_map=torchvision_densenet_key,
                          min_input_size=_MIN_INPUT)


@register_model(family="densenet", paper=PAPER,
                input_size=(1, 96, 96), variant="book", min_input_size=_MIN_INPUT,
                book_recipe=BookRecipe(lr=0.01, resize=96, book_accuracy=0.893, init="default"))
def densenet_d2l(num_classes: int = 10, in_channels: int = 1, **overrides) -> nn.Module:
    """The book's DenseNet: growth 32, blocks (4, 4, 4, 4), no bottleneck, default init."""
    return build_from_config(DENSENETS["densenet_d2l"], DenseNet, num_classes, in_channels,
                             **overrides)


@_standard("densenet121")
def densenet121(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """DenseNet-121 (BC, k=32, blocks 6-12-24-16); ``memory_efficient=True`` checkpoints."""
    return _torchvision_form(build_from_config(DENSENETS["densenet121"], DenseNet, num_classes,
                                              in_channels, **overrides))


@_standard("densenet161")
def densenet161(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """DenseNet-161 (growth 48, stem 96), torchvision's weights and init."""
    return _torchvision_form(build_from_config(DENSENETS["densenet161"], DenseNet, num_classes,
                                               in_channels, **overrides))


@_standard("densenet169")
def densenet169(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """DenseNet-169 (BC, k=32, blocks 6-12-32-32)."""
    return _torchvision_form(build_from_config(DENSENETS["densenet169"], DenseNet, num_classes,
                                              in_channels, **overrides))


@_standard("densenet201")
def densenet201(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """DenseNet-201 (BC, k=32, blocks 6-12-48-32)."""
    return _torchvision_form(build_from_config(DENSENETS["densenet201"], DenseNet, num_classes,
                                              in_channels, **overrides))
