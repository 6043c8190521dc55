"""VGG (Simonyan & Zisserman, 2015): blocks of 3x3 convs, each block closed by a 2x2 max-pool.

An architecture is ``arch``: one ``(num_convs, out_channels)`` pair per block.
Every block halves the resolution, so five blocks need at least 32x32 input.

- ``vgg_d2l``: the book's small training network (section 8.2),
  arch ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)), the last feature map
  flattened straight into Linear(4096) -> ReLU -> Dropout, twice, then the
  classifier; Xavier init; 1 channel, 224x224 by default.
- ``vgg11/13/16/19`` and their ``_bn`` forms: torchvision's, with its module
  names (``features.N``, ``avgpool``, ``classifier.N``), its adaptive 7x7 average
  pool (so 1-channel or 32x32 input works too: the pool repeats small maps) and
  its init, so torchvision's state_dicts load and the logits agree.

Any builder accepts ``arch=...`` (and the other :class:`VGGCfg` fields) as an
override, e.g. the book's VGG-11 is ``get_model("vgg_d2l", arch=VGG_ARCHS["vgg11"])``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from cnnlab.models._base import (
    FlattenClassifierNet,
    flattened_size,
    kaiming_init,
    linear_head,
    require_whole,
    xavier_init,
)
from cnnlab.models._registry import BookRecipe, register_model
from cnnlab.ops.conv import is_whole

Arch = tuple[tuple[int, int], ...]

VGG_ARCHS: dict[str, Arch] = {
    "d2l": ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)),
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),  # configuration A
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),  # B
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),  # D
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),  # E
}


@dataclass(frozen=True)
class VGGCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("vgg11", hidden=512)``)."""

    arch: Arch
    batch_norm: bool = False
    pool_size: int | None = 7  # adaptive average pool before the MLP; None: flatten as is
    hidden: int = 4096
    dropout: float = 0.5
    init: str = "kaiming"  # "kaiming" (torchvision's scheme) or "xavier" (the book's)


def vgg_block(
    num_convs: int, in_channels: int, out_channels: int, batch_norm: bool
) -> list[nn.Module]:
    """Layers of one block: (conv3x3 [-> BN] -> ReLU) x num_convs, then max-pool 2x2.

    Returned as a list, not a Sequential, so that ``features`` is one flat
    Sequential whose indices match torchvision's state_dict keys.
    """
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return layers


# VGGCfg.init: torchvision's (conv fan-out He normal, BN 1/0, Linear N(0, 0.01)) or the
# book's Xavier.
_INITS = {"kaiming": kaiming_init, "xavier": xavier_init}


class VGG(FlattenClassifierNet):
    """``features`` (one VGG block per ``cfg.arch`` entry) -> ``avgpool`` -> flatten ->
    ``classifier`` (two hidden linears, then the final one). ``image_size`` sizes the
    first hidden linear where ``cfg.pool_size`` is None (the book's flatten)."""

    def __init__(
        self,
        cfg: VGGCfg,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 224,
    ):
        super().__init__()
        if cfg.init not in _INITS:
            raise ValueError(f"VGG init must be 'kaiming' or 'xavier', not {cfg.init!r}")
        if not cfg.arch or any(not isinstance(s, (tuple, list)) or len(s) != 2
                               or not all(is_whole(v) and v >= 1 for v in s) for s in cfg.arch):
            raise ValueError(f"VGG arch must be non-empty (num_convs, out_channels) pairs of "
                             f"whole numbers >= 1, got {cfg.arch!r}")
        # hidden=0 built a classifier reading no features (the same logits for any image).
        require_whole("VGGCfg", "hidden", cfg.hidden)
        if cfg.pool_size is not None:
            require_whole("VGGCfg", "pool_size", cfg.pool_size)  # None: flatten as is
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = in_channels
        for num_convs, out_channels in cfg.arch:
            layers += vgg_block(num_convs, width, out_channels, cfg.batch_norm)
            width = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(cfg.pool_size) if cfg.pool_size else nn.Identity()
        if cfg.pool_size:
            flat = width * cfg.pool_size**2
        else:
            flat = flattened_size(self.features, in_channels, image_size)
        self.num_features = cfg.hidden
        self.classifier = nn.Sequential(
            nn.Linear(flat, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=cfg.dropout),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=cfg.dropout),
            linear_head(cfg.hidden, num_classes),
        )
        self.initialise(_INITS[cfg.init])


def _vgg(arch: str, batch_norm: bool, num_classes: int, in_channels: int, overrides) -> VGG:
    cfg = dataclasses.replace(VGGCfg(arch=VGG_ARCHS[arch], batch_norm=batch_norm), **overrides)
    return VGG(cfg, num_classes=num_classes, in_channels=in_channels)


_PAPER = "Simonyan & Zisserman, Very Deep Convolutional Networks, ICLR 2015"
_PAPER_BN = _PAPER + "; with batch norm (Ioffe & Szegedy, 2015) as in torchvision"


@register_model(
    family="vgg",
    paper=_PAPER,
    input_size=(1, 224, 224),
    variant="book",
    book_recipe=BookRecipe(lr=0.01, resize=224, book_accuracy=0.896),
    sized_head=True,
    min_input_size=32,
)
def vgg_d2l(num_classes=10, in_channels=1, image_size=224, **overrides) -> VGG:
    """The book's VGG as the book trains it: arch ((1,16),(1,32),(2,64),(2,128),(2,128)),
    flatten, Xavier init. The layer shapes its section prints (64x112x112 ... 512x7x7,
    25088 -> 4096) are of VGG-11's widths: ``summary(get_model("vgg_d2l", arch=((1, 64),
    (1, 128), (2, 256), (2, 512), (2, 512))))``, 128,806,154 parameters.
    """
    # The first paragraph is `cnnlab models vgg_d2l`'s description: `cnnlab summary vgg_d2l`
    # shows 128x7x7 and 6272 where the book's printed table shows 512x7x7 and 25088.
    book = VGGCfg(arch=VGG_ARCHS["d2l"], pool_size=None, init="xavier")
    cfg = dataclasses.replace(book, **overrides)
    return VGG(cfg, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


_STANDARD = dict(
    family="vgg", input_size=(3, 224, 224), num_classes=1000, variant="standard", min_input_size=32
)


@register_model(**_STANDARD, paper=_PAPER, torchvision_name="vgg11")
def vgg11(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-11 (configuration A)."""
    return _vgg("vgg11", False, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER_BN, torchvision_name="vgg11_bn")
def vgg11_bn(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-11 with batch norm."""
    return _vgg("vgg11", True, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER, torchvision_name="vgg13")
def vgg13(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-13 (configuration B)."""
    return _vgg("vgg13", False, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER_BN, torchvision_name="vgg13_bn")
def vgg13_bn(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-13 with batch norm."""
    return _vgg("vgg13", True, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER, torchvision_name="vgg16")
def vgg16(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-16 (configuration D)."""
    return _vgg("vgg16", False, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER_BN, torchvision_name="vgg16_bn")
def vgg16_bn(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-16 with batch norm."""
    return _vgg("vgg16", True, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER, torchvision_name="vgg19")
def vgg19(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-19 (configuration E)."""
    return _vgg("vgg19", False, num_classes, in_channels, overrides)


@register_model(**_STANDARD, paper=_PAPER_BN, torchvision_name="vgg19_bn")
def vgg19_bn(num_classes=1000, in_channels=3, **overrides) -> VGG:
    """torchvision's VGG-19 with batch norm."""
    return _vgg("vgg19", True, num_classes, in_channels, overrides)
