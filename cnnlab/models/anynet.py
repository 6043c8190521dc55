"""AnyNet: the design space RegNet was found in (Radosavovic et al., CVPR 2020).

An AnyNet is a stem (3x3 stride-2 conv, norm, activation), a body of stages of
X blocks (ResNeXt bottlenecks: 1x1 -> 3x3 group conv -> 1x1, residual), and a
head (global average pool, linear). A stage is four numbers: depth, width,
bottleneck ratio, group width; :class:`AnyNetConfig` holds them for every stage.
Named networks are just configs: the book's RegNetX32 below, and RegNet
(``regnet.py``), whose configs come from a generator function.

:func:`anynet_complexity` counts flops (multiply-adds), parameters and
activations analytically with pycls's conventions; it walks the same block plan
(:func:`block_plan`) the constructor builds from, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from cnnlab.models._base import (
    PooledFcNet,
    build_from_config,
    kaiming_init,
    linear_head,
    require_whole,
)
from cnnlab.models._registry import BookRecipe, register_model

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]
RELU = partial(nn.ReLU, inplace=True)

# ---------------------------------------------------------------- blocks


class ConvNormAct(nn.Module):
    """Conv2d ('same' padding for odd kernels) -> norm -> activation (optional)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, *, stride: int = 1,
                 groups: int = 1, bias: bool = False, norm_layer: NormLayer = nn.BatchNorm2d,
                 act_layer: ActLayer | None = RELU):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride,
                              padding=kernel_size // 2, groups=groups, bias=bias)
        self.norm = norm_layer(c_out)
        self.act = act_layer() if act_layer is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class SqueezeExcite(nn.Module):
    """SE: global pool -> 1x1 conv -> act -> 1x1 conv -> sigmoid, rescaling channels."""

    def __init__(self, channels: int, squeeze_channels: int, act_layer: ActLayer = RELU):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = act_layer()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = torch.sigmoid(self.fc2(self.act(self.fc1(scale))))
        return x * scale


class BlockSpec(NamedTuple):
    """One X block, fully resolved: what the constructor and the complexity count share."""

    c_in: int
    c_out: int
    stride: int
    bottleneck_width: int  # round(c_out * bottleneck ratio)
    groups: int  # bottleneck_width // group width
    se_width: int  # 0: no SE; pycls sizes it from the block's *input* width

    @property
    def has_proj(self) -> bool:
        return self.c_in != self.c_out or self.stride != 1


class XBlock(nn.Module):
    """Residual bottleneck with group conv (pycls ``ResBottleneckBlock``; Y block with SE).

    relu(proj(x) + c(se(b(a(x))))): the stride sits in the 3x3 conv ``b``; ``proj``
    (1x1 conv + norm) exists only when the shape changes.
    """

    def __init__(self, spec: BlockSpec, *, bias: bool = False,
                 norm_layer: NormLayer = nn.BatchNorm2d, act_layer: ActLayer = RELU):
        super().__init__()
        wb, conv = spec.bottleneck_width, partial(ConvNormAct, bias=bias, norm_layer=norm_layer)
        self.proj = (conv(spec.c_in, spec.c_out, 1, stride=spec.stride, act_layer=None)
                     if spec.has_proj else None)
        self.a = conv(spec.c_in, wb, 1, act_layer=act_layer)
        self.b = conv(wb, wb, 3, stride=spec.stride, groups=spec.groups, act_layer=act_layer)
        self.se = SqueezeExcite(wb, spec.se_width, act_layer) if spec.se_width else None
        self.c = conv(wb, spec.c_out, 1, act_layer=None)
        self.c.norm.is_last_bn = True  # kaiming_init(zero_init_last_bn=True) zeroes it
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        y = self.b(self.a(x))
        if self.se is not None:
            y = self.se(y)
        return self.act(self.c(y) + shortcut)


# ---------------------------------------------------------------- the model


def _tuple(values, kind):
    return tuple(kind(v) for v in values)


@dataclass(frozen=True)
class AnyNetConfig:
    """One AnyNet: ``stem_width`` plus, per stage, ``depths``, ``widths``,
    ``bottleneck_ratios``, ``group_widths`` and ``strides`` (None: 2 each); ``se_ratio``:
    0 for X blocks, 0.25 for RegNetY's Y blocks (squeeze-excitation).

    A stage's inner (bottleneck) width is ``round(width * ratio)`` (pycls's ``bm``:
    ratio 1 means no bottleneck, 0.25 the classic ResNet 4x squeeze). ``group_widths``
    are channels per group, not group counts.
    ``conv_bias`` gives every conv a bias, as the book's code does (its layers keep
    PyTorch's default); pycls and torchvision have none before a norm.
    """

    stem_width: int
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bottleneck_ratios: tuple[float, ...]
    group_widths: tuple[int, ...]
    strides: tuple[int, ...] | None = None  # None: 2 per stage
    se_ratio: float = 0.0  # 0: X blocks; 0.25: RegNetY's Y blocks
    conv_bias: bool = False

    def __post_init__(self):
        n = len(self.depths)
        strides = (2,) * n if self.strides is None else self.strides
        # Checked before the int() below, which took a depth of 1.5 as 1 block.
        for name, value in (("depths", self.depths), ("widths", self.widths),
                            ("group_widths", self.group_widths), ("strides", strides),
                            ("stem_width", self.stem_width)):
            require_whole("AnyNetConfig", name, value)
        object.__setattr__(self, "depths", _tuple(self.depths, int))
        object.__setattr__(self, "widths", _tuple(self.widths, int))
        object.__setattr__(self, "bottleneck_ratios", _tuple(self.bottleneck_ratios, float))
        object.__setattr__(self, "group_widths", _tuple(self.group_widths, int))
        object.__setattr__(self, "strides", _tuple(strides, int))
        per_stage = ("widths", "bottleneck_ratios", "group_widths", "strides")
        lengths = {name: len(getattr(self, name)) for name in per_stage}
        if any(length != n for length in lengths.values()):
            raise ValueError(f"AnyNetConfig needs one value per stage: depths has {n}, {lengths}")
        for i, (_, w, b, g, _) in enumerate(self.stages()):
            if not b > 0:
                raise ValueError(f"AnyNetConfig.bottleneck_ratios must be > 0, got {b} for "
                                 f"stage {i + 1}")
            wb = round(w * b)
            if wb < 1:
                raise ValueError(f"stage {i + 1}: bottleneck width round({w} * {b}) = {wb}; "
                                 "AnyNetConfig.bottleneck_ratios must leave at least one channel")
            if wb % g:
                raise ValueError(
                    f"stage {i + 1}: bottleneck width round({w} * {b}) = {wb} is not a multiple of "
                    f"group width {g}; pick compatible values (regnet.generate_regnet adjusts "
                    "widths this way)")
        if not self.se_ratio >= 0:
            raise ValueError(f"AnyNetConfig.se_ratio must be >= 0, got {self.se_ratio}")
        # pycls sizes SE from each block's input width: a ratio that rounds one to no
        # channel would build a block without SE, silently another network. Walked only
        # with SE: a design sweep builds thousands of X configs, and the walk was most
        # of their validation's time.
        thin = next((spec.c_in for _, spec in block_plan(self) if not spec.se_width),
                    None) if self.se_ratio else None
        if thin is not None:
            raise ValueError(f"AnyNetConfig.se_ratio {self.se_ratio} gives a {thin}-channel "
                             f"block input round({thin} * {self.se_ratio}) = 0 SE channels; use "
                             f"an se_ratio above {0.5 / thin:.3g}, or 0 (no SE)")

    def stages(self) -> list[tuple[int, int, float, int, int]]:
        """(depth, width, bottleneck ratio, group width, stride) per stage."""
        return list(zip(self.depths, self.widths, self.bottleneck_ratios, self.group_widths,
                        self.strides, strict=True))

    @property
    def num_features(self) -> int:
        """The width the classifier reads: the last stage's (the stem's without stages)."""
        return self.widths[-1] if self.widths else self.stem_width


def block_plan(cfg: AnyNetConfig) -> Iterator[tuple[int, BlockSpec]]:
    """(stage index, block spec) for every block, in order: the one source of the body."""
    c_in = cfg.stem_width
    for stage, (d, w, b, g, s) in enumerate(cfg.stages()):
        wb = round(w * b)
        for i in range(d):
            block_in = c_in if i == 0 else w
            se = round(block_in * cfg.se_ratio) if cfg.se_ratio else 0
            yield stage, BlockSpec(block_in, w, s if i == 0 else 1, wb, wb // g, se)
        c_in = w


class AnyNet(PooledFcNet):
    """Stem -> stages of X blocks -> global average pool -> linear (``fc``).

    Module names: ``stem``, ``stages.<stage>.<block>.{proj,a,b,se,c}``, ``fc``.
    """

    def __init__(self, cfg: AnyNetConfig, num_classes: int = 1000, in_channels: int = 3, *,
                 norm_layer: NormLayer = nn.BatchNorm2d, act_layer: ActLayer = RELU):
        super().__init__()
        self.cfg = cfg
        self.stem = ConvNormAct(in_channels, cfg.stem_width, 3, stride=2, bias=cfg.conv_bias,
                                norm_layer=norm_layer, act_layer=act_layer)
        stages = [nn.Sequential() for _ in cfg.depths]
        for stage, spec in block_plan(cfg):
            stages[stage].append(XBlock(spec, bias=cfg.conv_bias, norm_layer=norm_layer,
                                        act_layer=act_layer))
        self.stages = nn.Sequential(*stages)
        self.num_features = cfg.num_features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = linear_head(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))



# ---------------------------------------------------------------- complexity


def _conv_cx(cx: dict, c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1,
             bias: bool = False) -> dict:
    # pycls counts a bias as one flop per output *channel*, not per output element.
    h = (cx["h"] + 2 * (k // 2) - k) // stride + 1
    w = (cx["w"] + 2 * (k // 2) - k) // stride + 1
    weights = k * k * c_in * c_out // groups
    return {"h": h, "w": w,
            "flops": cx["flops"] + weights * h * w + (c_out if bias else 0),
            "params": cx["params"] + weights + (c_out if bias else 0),
            "acts": cx["acts"] + c_out * h * w}


def _norm_cx(cx: dict, c: int) -> dict:
    return {**cx, "params": cx["params"] + 2 * c}  # weight and bias; running stats are buffers


def _block_cx(cx: dict, spec: BlockSpec, bias: bool) -> dict:
    if spec.has_proj:  # a parallel branch: counts, but leaves the spatial size to the main path
        side = _norm_cx(_conv_cx(cx, spec.c_in, spec.c_out, 1, spec.stride, bias=bias),
                        spec.c_out)
        cx = {**side, "h": cx["h"], "w": cx["w"]}
    wb = spec.bottleneck_width
    cx = _norm_cx(_conv_cx(cx, spec.c_in, wb, 1, bias=bias), wb)
    cx = _norm_cx(_conv_cx(cx, wb, wb, 3, spec.stride, spec.groups, bias=bias), wb)
    if spec.se_width:  # two 1x1 convs on the pooled 1x1 map
        h, w = cx["h"], cx["w"]
        cx = _conv_cx({**cx, "h": 1, "w": 1}, wb, spec.se_width, 1, bias=True)
        cx = {**_conv_cx(cx, spec.se_width, wb, 1, bias=True), "h": h, "w": w}
    return _norm_cx(_conv_cx(cx, wb, spec.c_out, 1, bias=bias), spec.c_out)


def anynet_complexity(cfg: AnyNetConfig, image_size: int = 224, in_channels: int = 3,
                      num_classes: int = 1000) -> dict[str, int]:
    """Flops (multiply-adds), parameters and activations of an AnyNet, as pycls counts them.

    Conventions (pycls ``blocks.py``/``net.py``, the source of the published RegNet
    numbers): conv flops = k*k*c_in*c_out*h_out*w_out/groups, plus one per output
    channel for a bias; norm layers add 2*c parameters and no flops; activations are
    the output elements of every conv and of the final linear layer (SE convs
    included); the linear head counts as a 1x1 conv with bias. Pooling, activation
    functions and residual additions cost nothing.
    """
    cx = {"h": image_size, "w": image_size, "flops": 0, "params": 0, "acts": 0}
    cx = _norm_cx(_conv_cx(cx, in_channels, cfg.stem_width, 3, 2, bias=cfg.conv_bias),
                  cfg.stem_width)
    for _, spec in block_plan(cfg):
        cx = _block_cx(cx, spec, cfg.conv_bias)
    cx = _conv_cx({**cx, "h": 1, "w": 1}, cfg.num_features, num_classes, 1, bias=True)
    return {key: cx[key] for key in ("flops", "params", "acts")}


def hook_complexity(model: nn.Module, image_size: int, in_channels: int = 3) -> dict[str, int]:
    """Measure flops/acts by running ``model`` once, with the conventions of
    :func:`anynet_complexity` applied to every Conv2d and Linear actually executed.

    An independent check on the analytic count (it sees the built modules, not the
    config); useful for any model, not only AnyNets.
    """
    totals = {"flops": 0, "acts": 0}

    def count(module, _inputs, out):
        per_sample = out[0].numel()  # output elements of one image
        if isinstance(module, nn.Conv2d):
            fan_in = math.prod(module.kernel_size) * module.in_channels // module.groups
        else:
            fan_in = module.in_features
        bias = 0 if module.bias is None else module.bias.numel()
        totals["flops"] += per_sample * fan_in + bias
        totals["acts"] += per_sample

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_channels, image_size, image_size))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    totals["params"] = sum(p.numel() for p in model.parameters())
    return totals


# ---------------------------------------------------------------- variants

# Dive into Deep Learning, "Designing Convolution Network Architectures": RegNetX32
# is AnyNet with stem 32, group width 16, no bottleneck, depths (4, 6), widths
# (32, 80). Its code keeps PyTorch's conv biases and default init.
BOOK_ANYNETS = {
    "regnetx32_d2l": AnyNetConfig(stem_width=32, depths=(4, 6), widths=(32, 80),
                                  bottleneck_ratios=(1.0, 1.0), group_widths=(16, 16),
                                  conv_bias=True),
}


@register_model(family="regnet", paper="Radosavovic et al. 2020, Designing Network Design "
                "Spaces", input_size=(1, 96, 96),
                variant="book", min_input_size=1,
                book_recipe=BookRecipe(lr=0.05, resize=96, book_accuracy=0.908, init="default"))
def regnetx32_d2l(num_classes: int = 10, in_channels: int = 1, **overrides) -> nn.Module:
    """The book's RegNetX32: AnyNet, stem 32, g=16, b=1, depths (4, 6), widths (32, 80)."""
    return build_from_config(BOOK_ANYNETS["regnetx32_d2l"], AnyNet, num_classes, in_channels,
                             **_own_stages(overrides))


def _own_stages(overrides: dict) -> dict:
    """``overrides`` with strides back at their default (2 per stage) where they give
    their own depths but no strides: otherwise the named network's strides, one per its
    stages, were kept, and depths=(1, 1) failed as "needs one value per stage ... strides 4"."""
    return {"strides": None, **overrides} if "depths" in overrides else overrides


# A default so that `get_model("anynetx")` alone builds something sensible; trials
# always pass every field.
DEFAULT_ANYNETX = AnyNetConfig(stem_width=32, depths=(1, 1, 2, 1), widths=(32, 64, 128, 256),
                               bottleneck_ratios=(1.0,) * 4, group_widths=(8,) * 4)


@register_model(family="anynet", paper="Radosavovic et al. 2020, Designing Network Design Spaces",
                input_size=(1, 28, 28), variant="cnnlab",
                min_input_size=1)
def anynetx(num_classes: int = 10, in_channels: int = 1, zero_init_last_bn: bool = False,
            **overrides) -> nn.Module:
    """AnyNetX with any AnyNetConfig fields as overrides (design-space trials).

    ``zero_init_last_bn`` starts every X block as the identity (pycls's
    ``BN.ZERO_INIT_FINAL_GAMMA``; off by default there and here). Design sweeps turn it
    on: after one short epoch, deep samples (19-44 blocks) otherwise end near chance.
    """
    # pycls initialises every AnyNet this way (He fan-out, BN 1/0, fc N(0, 0.01)).
    init = partial(kaiming_init, zero_init_last_bn=zero_init_last_bn, zero_conv_bias=False)
    return build_from_config(DEFAULT_ANYNETX, AnyNet, num_classes, in_channels,
                             **_own_stages(overrides)).initialise(init)
