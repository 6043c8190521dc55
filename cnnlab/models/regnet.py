"""RegNet: AnyNets whose stage widths and depths follow a quantised linear rule.

Radosavovic et al., "Designing Network Design Spaces", CVPR 2020. The per-block
width grows linearly, u_j = w0 + wa * j; each block's width snaps to w0 times the
power of wm nearest in log space, w_j = w0 * wm^round(log(u_j / w0) / log(wm)),
rounded to a multiple of ``quantum``; runs of equal widths become stages. :func:`generate_regnet`
is that rule, pure and separately tested; :class:`RegNetConfig` feeds its result to
:class:`~cnnlab.models.anynet.AnyNet` (RegNet only supplies parameters, as in pycls).

Two rounding conventions exist and give different networks for the same five
numbers, so every variant says which one it follows:

- ``"pycls"`` (the paper's code, and the published flops/params/acts): the
  group-width compatibility step rounds the bottleneck width to the nearest
  multiple of the group width, ties to even (Python's ``round``).
- ``"torchvision"``: the same step uses ``_make_divisible`` (ties round up, and a
  result more than 10% below the input goes up one more multiple). RegNetX-400MF's
  last stage is 392 wide before the step: pycls makes it 384, torchvision 400.
  (torchvision also computes the block widths in float32, we in float64; for every
  configuration it ships the widths agree, which the tests check.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

from torch import nn

from cnnlab.models._base import build_from_config, kaiming_init, require_whole
from cnnlab.models._registry import register_model
from cnnlab.models.anynet import RELU, ActLayer, AnyNet, AnyNetConfig, NormLayer

CONVENTIONS = ("pycls", "torchvision")
PAPER = "Radosavovic et al. 2020, Designing Network Design Spaces"


class RegNetStages(NamedTuple):
    """Per-stage parameters produced by :func:`generate_regnet`."""

    widths: list[int]
    depths: list[int]
    group_widths: list[int]


def _stage_index(w0: int, wa: float, wm: float, block: int) -> int:
    """The stage of block ``block``: its continuous linear width w0 + wa * block, in
    log space with base wm, rounded."""
    return round(math.log((w0 + wa * block) / w0) / math.log(wm))


def _block_widths(w0: int, wa: float, wm: float, depth: int, quantum: int) -> list[int]:
    return [round(w0 * wm ** _stage_index(w0, wa, wm, j) / quantum) * quantum
            for j in range(depth)]


def regnet_stage_count(w0: int, wa: float, wm: float, depth: int) -> int:
    """The number of stages the linear rule's log-space stage index spans (the last
    block's index + 1): pycls's ``total_stages``, which a design-space sample must match
    as well as its count of distinct widths."""
    return _stage_index(w0, wa, wm, depth - 1) + 1  # the widths grow: the last is largest


def _round_to_multiple(v: float, m: int, convention: str) -> int:
    if convention == "pycls":
        return max(m, int(round(v / m) * m))
    new = max(m, int(v + m / 2) // m * m)  # torchvision's _make_divisible
    return new + m if new < 0.9 * v else new


def compatible_width(width: int, bottleneck: float, group_width: int,
                convention: str) -> tuple[int, int]:
    """(stage width, group width) adjusted so the bottleneck splits into whole groups."""
    wb = max(1, int(width * bottleneck)) if convention == "pycls" else int(width * bottleneck)
    g = min(group_width, wb)  # a group cannot be wider than the layer
    m = g
    if convention == "pycls" and bottleneck > 1 and float(bottleneck).is_integer():
        m = math.lcm(g, int(bottleneck))  # keeps width = wb / bottleneck an integer too
    wb = _round_to_multiple(wb, m, convention)
    return int(wb / bottleneck), g


def generate_regnet(w0: int, wa: float, wm: float, depth: int, group_width: int,
                    bottleneck: float = 1.0, quantum: int = 8,
                    convention: str = "pycls") -> RegNetStages:
    """Stage widths, depths and group widths of the RegNet with these parameters.

    Args:
        w0: initial width (a multiple of ``quantum``).
        wa: slope of the linear width rule (>= 0).
        wm: width multiplier between stages (> 1).
        depth: total number of blocks.
        group_width: channels per group in the 3x3 conv (capped at the layer width).
        bottleneck: bottleneck ratio b; the inner width is width * b.
        quantum: block widths are multiples of this (8 in the paper).
        convention: ``"pycls"`` or ``"torchvision"`` rounding (see the module docstring).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    # group_width 0, bottleneck 0 or quantum 0 failed as a ZeroDivisionError below.
    for name, value in (("depth", depth), ("w0", w0), ("group_width", group_width),
                        ("quantum", quantum)):
        require_whole("RegNetConfig", name, value)
    if not bottleneck > 0:
        raise ValueError(f"RegNetConfig.bottleneck must be > 0 (1: none, 0.25: ResNet's), "
                         f"got {bottleneck}")
    if wa < 0 or w0 <= 0 or wm <= 1 or depth < 1 or w0 % quantum:
        raise ValueError(f"invalid RegNet parameters: need wa >= 0, w0 > 0, wm > 1, depth >= 1 "
                         f"and w0 a multiple of {quantum}; got w0={w0}, wa={wa}, wm={wm}, "
                         f"depth={depth}")
    widths: list[int] = []
    depths: list[int] = []
    for w in _block_widths(w0, wa, wm, depth, quantum):  # non-decreasing since wa >= 0
        if widths and widths[-1] == w:
            depths[-1] += 1
        else:
            widths.append(w)
            depths.append(1)
    adjusted = [compatible_width(w, bottleneck, group_width, convention) for w in widths]
    return RegNetStages([w for w, _ in adjusted], depths, [g for _, g in adjusted])


@dataclass(frozen=True)
class RegNetConfig:
    """The RegNet design space's parameters; :meth:`to_anynet` expands them."""

    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    bottleneck: float = 1.0
    se_ratio: float = 0.0  # 0.25 makes it a RegNetY
    stem_width: int = 32
    quantum: int = 8
    convention: str = "pycls"

    def stages(self) -> RegNetStages:
        return generate_regnet(self.w0, self.wa, self.wm, self.depth, self.group_width,
                               self.bottleneck, self.quantum, self.convention)

    def to_anynet(self) -> AnyNetConfig:
        widths, depths, group_widths = self.stages()
        return AnyNetConfig(stem_width=self.stem_width, depths=depths, widths=widths,
                            bottleneck_ratios=[self.bottleneck] * len(widths),
                            group_widths=group_widths, se_ratio=self.se_ratio)


class RegNet(AnyNet):
    """An AnyNet built from a :class:`RegNetConfig` (kept as ``regnet_cfg``)."""

    def __init__(self, cfg: RegNetConfig, num_classes: int = 1000, in_channels: int = 3, *,
                 norm_layer: NormLayer = nn.BatchNorm2d, act_layer: ActLayer = RELU):
        super().__init__(cfg.to_anynet(), num_classes, in_channels, norm_layer=norm_layer,
                         act_layer=act_layer)
        self.regnet_cfg = cfg


# pycls's model zoo (configs/dds_baselines): these reproduce its published flops,
# params and activations exactly (ANCHORS §3).
REGNETS = {
    "regnetx_200mf": RegNetConfig(depth=13, w0=24, wa=36.44, wm=2.49, group_width=8),
    "regnetx_400mf": RegNetConfig(depth=22, w0=24, wa=24.48, wm=2.54, group_width=16),
    "regnetx_600mf": RegNetConfig(depth=16, w0=48, wa=36.97, wm=2.24, group_width=24),
    "regnetx_800mf": RegNetConfig(depth=16, w0=56, wa=35.73, wm=2.28, group_width=16),
    "regnetx_1_6gf": RegNetConfig(depth=18, w0=80, wa=34.01, wm=2.25, group_width=24),
    "regnety_400mf": RegNetConfig(depth=16, w0=48, wa=27.89, wm=2.09, group_width=8,
                                  se_ratio=0.25),
}

# torchvision's builders: same five numbers, torchvision's rounding; these load
# torchvision's weights (through torchvision_regnet_key) and give its logits.
TORCHVISION_REGNETS = {
    name: replace(REGNETS[pycls_name], convention="torchvision")
    for name, pycls_name in [("regnet_x_400mf", "regnetx_400mf"),
                             ("regnet_x_800mf", "regnetx_800mf"),
                             ("regnet_x_1_6gf", "regnetx_1_6gf"),
                             ("regnet_y_400mf", "regnety_400mf")]
}
# torchvision's larger RegNets (its builders' numbers; no pycls model of the same name).
TORCHVISION_REGNETS.update({
    name: RegNetConfig(depth=depth, w0=w0, wa=wa, wm=wm, group_width=group_width,
                       se_ratio=se_ratio, convention="torchvision")
    for name, depth, w0, wa, wm, group_width, se_ratio in [
        ("regnet_y_800mf", 14, 56, 38.84, 2.4, 16, 0.25),
        ("regnet_y_1_6gf", 27, 48, 20.71, 2.65, 24, 0.25),
        ("regnet_y_3_2gf", 21, 80, 42.63, 2.66, 24, 0.25),
        ("regnet_y_8gf", 17, 192, 76.82, 2.19, 56, 0.25),
        ("regnet_y_16gf", 18, 200, 106.23, 2.48, 112, 0.25),
        ("regnet_y_32gf", 20, 232, 115.89, 2.53, 232, 0.25),
        ("regnet_y_128gf", 27, 456, 160.83, 2.52, 264, 0.25),
        ("regnet_x_3_2gf", 25, 88, 26.31, 2.25, 48, 0.0),
        ("regnet_x_8gf", 23, 80, 49.56, 2.88, 120, 0.0),
        ("regnet_x_16gf", 22, 216, 55.59, 2.1, 128, 0.0),
        ("regnet_x_32gf", 23, 320, 69.86, 2.0, 168, 0.0),
    ]
})

_TV_KEY_RULES = [
    (re.compile(r"^stem\.0\."), "stem.conv."),
    (re.compile(r"^stem\.1\."), "stem.norm."),
    (re.compile(r"^trunk_output\.block(\d+)\.block\d+-(\d+)\."),
     lambda m: f"stages.{int(m[1]) - 1}.{m[2]}."),
    (re.compile(r"\.f\.([abc])\.0\."), r".\1.conv."),
    (re.compile(r"\.f\.([abc])\.1\."), r".\1.norm."),
    (re.compile(r"\.f\.se\."), ".se."),
    (re.compile(r"\.proj\.0\."), ".proj.conv."),
    (re.compile(r"\.proj\.1\."), ".proj.norm."),
]


def torchvision_regnet_key(key: str) -> str:
    """Map a torchvision RegNet state_dict key to ours.

    ``trunk_output.block2.block2-0.f.b.1.weight`` -> ``stages.1.0.b.norm.weight``;
    ``stem.0.weight`` -> ``stem.conv.weight``; ``fc.*`` is unchanged.
    """
    return _renamed(key, _TV_KEY_RULES)


def _renamed(key: str, rules) -> str:
    for pattern, repl in rules:
        key = pattern.sub(repl, key)
    return key


# pycls's module names (its model zoo's checkpoints): s<stage>.b<block> with the
# transform under "f", the shortcut's BN as "bn", the SE's convs in "f_ex", "head.fc".
_PYCLS_KEY_RULES = [
    (re.compile(r"^stem\.bn\."), "stem.norm."),
    (re.compile(r"^s(\d+)\.b(\d+)\."), lambda m: f"stages.{int(m[1]) - 1}.{int(m[2]) - 1}."),
    (re.compile(r"\.proj\.(weight)$"), r".proj.conv.\1"),
    (re.compile(r"^(stages\.\d+\.\d+)\.bn\."), r"\1.proj.norm."),
    (re.compile(r"\.f\.([abc])\."), r".\1.conv."),
    (re.compile(r"\.f\.([abc])_bn\."), r".\1.norm."),
    (re.compile(r"\.f\.se\.f_ex\.0\."), ".se.fc1."),
    (re.compile(r"\.f\.se\.f_ex\.2\."), ".se.fc2."),
    (re.compile(r"^head\.fc\."), "fc."),
]


def pycls_regnet_key(key: str) -> str:
    """Map a pycls AnyNet/RegNet state_dict key to ours (its published model-zoo weights).

    ``s1.b1.f.b_bn.weight`` -> ``stages.0.0.b.norm.weight``; ``s2.b1.bn.weight`` ->
    ``stages.1.0.proj.norm.weight``; ``head.fc.weight`` -> ``fc.weight``.
    """
    return _renamed(key, _PYCLS_KEY_RULES)


def _build(cfg: RegNetConfig, num_classes: int, in_channels: int, **overrides) -> nn.Module:
    # pycls and torchvision both initialise this way (He fan-out, BN 1/0, fc N(0, 0.01));
    # the squeeze-excitation convs keep PyTorch's default bias, as in both.
    return build_from_config(cfg, RegNet, num_classes, in_channels, **overrides).initialise(
        partial(kaiming_init, zero_conv_bias=False))


def _standard(tv_name: str | None = None):
    return register_model(family="regnet", paper=PAPER, input_size=(3, 224, 224),
                          num_classes=1000, variant="standard", min_input_size=1,
                          torchvision_name=tv_name,
                          torchvision_key_map=torchvision_regnet_key if tv_name else None)


@_standard()
def regnetx_200mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-200MF, pycls widths (199.0 MF, 2.68 M params)."""
    return _build(REGNETS["regnetx_200mf"], num_classes, in_channels, **overrides)


@_standard()
def regnetx_400mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-400MF, pycls widths (397.7 MF, 5.16 M params)."""
    return _build(REGNETS["regnetx_400mf"], num_classes, in_channels, **overrides)


@_standard()
def regnetx_600mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-600MF, pycls widths (600.9 MF, 6.20 M params)."""
    return _build(REGNETS["regnetx_600mf"], num_classes, in_channels, **overrides)


@_standard()
def regnetx_800mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-800MF, pycls widths (799.7 MF, 7.26 M params)."""
    return _build(REGNETS["regnetx_800mf"], num_classes, in_channels, **overrides)


@_standard()
def regnetx_1_6gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-1.6GF, pycls widths (1.60 GF, 9.19 M params)."""
    return _build(REGNETS["regnetx_1_6gf"], num_classes, in_channels, **overrides)


@_standard()
def regnety_400mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-400MF (SE 0.25), pycls widths (401.8 MF, 4.34 M params)."""
    return _build(REGNETS["regnety_400mf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_400mf")
def regnet_x_400mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-400MF, torchvision widths (last stage 400, not 384; 5.50 M params)."""
    return _build(TORCHVISION_REGNETS["regnet_x_400mf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_800mf")
def regnet_x_800mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-800MF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_800mf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_1_6gf")
def regnet_x_1_6gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-1.6GF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_1_6gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_400mf")
def regnet_y_400mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-400MF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_400mf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_800mf")
def regnet_y_800mf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-800MF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_800mf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_1_6gf")
def regnet_y_1_6gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-1.6GF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_1_6gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_3_2gf")
def regnet_y_3_2gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-3.2GF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_3_2gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_8gf")
def regnet_y_8gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-8GF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_8gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_16gf")
def regnet_y_16gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-16GF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_16gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_32gf")
def regnet_y_32gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-32GF (SE 0.25), torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_y_32gf"], num_classes, in_channels, **overrides)


@_standard("regnet_y_128gf")
def regnet_y_128gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetY-128GF (SE 0.25), torchvision widths (644 M params)."""
    return _build(TORCHVISION_REGNETS["regnet_y_128gf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_3_2gf")
def regnet_x_3_2gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-3.2GF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_3_2gf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_8gf")
def regnet_x_8gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-8GF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_8gf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_16gf")
def regnet_x_16gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-16GF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_16gf"], num_classes, in_channels, **overrides)


@_standard("regnet_x_32gf")
def regnet_x_32gf(num_classes: int = 1000, in_channels: int = 3, **overrides) -> nn.Module:
    """RegNetX-32GF, torchvision widths."""
    return _build(TORCHVISION_REGNETS["regnet_x_32gf"], num_classes, in_channels, **overrides)
