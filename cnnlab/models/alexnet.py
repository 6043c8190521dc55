"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): five convs, three max-pools, three linears.

Two forms:

- ``alexnet_d2l``: the book's (section 8.1): 96-256-384-384-256 channels, an
  11x11 stride-4 stem padded by 1, the last feature map flattened straight into
  Linear(4096) -> ReLU -> Dropout, twice, then the classifier. PyTorch's default
  init (the book does not call ``apply_init`` here). 1 channel, 224x224.
- ``alexnet``: torchvision's, which is the single-GPU "one weird trick" version
  (Krizhevsky 2014): 64-192-384-256-256 channels, stem padded by 2, an adaptive
  6x6 average pool, and dropout *before* each hidden linear layer. Same module
  names, so torchvision's state_dict loads as is, and the same logits.

Both keep the conv stack in ``features`` and the MLP in ``classifier`` (final
``nn.Linear`` last); between them ``avgpool`` is torchvision's adaptive pool or,
for the book's form, an identity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from cnnlab.models._base import (
    FlattenClassifierNet,
    flattened_size,
    linear_head,
    require_whole,
)
from cnnlab.models._registry import BookRecipe, register_model


@dataclass(frozen=True)
class AlexNetCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("alexnet_d2l", hidden=1024)``)."""

    widths: tuple[int, int, int, int, int] = (96, 256, 384, 384, 256)
    stem_padding: int = 1
    pool_size: int | None = None  # adaptive average pool before the MLP; None: flatten as is
    hidden: int = 4096
    dropout: float = 0.5
    dropout_first: bool = False  # torchvision: Dropout, Linear, ReLU; book: Linear, ReLU, Dropout


def _features(in_channels: int, cfg: AlexNetCfg) -> nn.Sequential:
    c1, c2, c3, c4, c5 = cfg.widths
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=cfg.stem_padding),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _hidden_layer(in_features: int, cfg: AlexNetCfg) -> list[nn.Module]:
    linear = [nn.Linear(in_features, cfg.hidden), nn.ReLU(inplace=True)]
    drop = nn.Dropout(p=cfg.dropout)
    return [drop, *linear] if cfg.dropout_first else [*linear, drop]


class AlexNet(FlattenClassifierNet):
    """``features`` (five convs, three max-pools) -> ``avgpool`` -> flatten ->
    ``classifier`` (two hidden linears, then the final one), shaped by ``cfg``; see the
    module docstring for the book's and torchvision's forms. ``image_size`` sizes the
    first hidden linear where ``cfg.pool_size`` is None (the book's flatten)."""

    def __init__(
        self,
        cfg: AlexNetCfg,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 224,
    ):
        super().__init__()
        if len(cfg.widths) != 5:
            raise ValueError(f"AlexNetCfg.widths needs one width per conv (5), got {cfg.widths}")
        require_whole("AlexNetCfg", "widths", cfg.widths)
        # hidden=0 built a classifier reading no features (the same logits for any image).
        require_whole("AlexNetCfg", "hidden", cfg.hidden)
        require_whole("AlexNetCfg", "stem_padding", cfg.stem_padding, least=0)
        if cfg.pool_size is not None:
            require_whole("AlexNetCfg", "pool_size", cfg.pool_size)  # None: flatten as is
        self.cfg = cfg
        self.features = _features(in_channels, cfg)
        self.avgpool = nn.AdaptiveAvgPool2d(cfg.pool_size) if cfg.pool_size else nn.Identity()
        if cfg.pool_size:
            flat = cfg.widths[-1] * cfg.pool_size**2
        else:
            flat = flattened_size(self.features, in_channels, image_size)
        self.num_features = cfg.hidden
        self.classifier = nn.Sequential(
            *_hidden_layer(flat, cfg),
            *_hidden_layer(cfg.hidden, cfg),
            linear_head(cfg.hidden, num_classes),
        )



ALEXNET_CFGS = {
    "alexnet_d2l": AlexNetCfg(),
    "alexnet": AlexNetCfg(
        widths=(64, 192, 384, 256, 256), stem_padding=2, pool_size=6, dropout_first=True
    ),
}


@register_model(
    family="alexnet",
    paper="Krizhevsky, Sutskever & Hinton, ImageNet Classification with Deep CNNs, NeurIPS 2012",
    input_size=(1, 224, 224),
    variant="book",
    book_recipe=BookRecipe(lr=0.01, resize=224, book_accuracy=0.830, init="default"),
    sized_head=True,
    min_input_size=65,
)
def alexnet_d2l(num_classes=10, in_channels=1, image_size=224, **overrides) -> AlexNet:
    """AlexNet as in the book: 96-256-384-384-256, flatten into 4096-4096, default init."""
    cfg = dataclasses.replace(ALEXNET_CFGS["alexnet_d2l"], **overrides)
    return AlexNet(cfg, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model(
    family="alexnet",
    paper="Krizhevsky, One weird trick for parallelizing CNNs, arXiv 2014 (torchvision's AlexNet)",
    input_size=(3, 224, 224),
    num_classes=1000,
    variant="standard",
    torchvision_name="alexnet",
    min_input_size=63,
)
def alexnet(num_classes=1000, in_channels=3, **overrides) -> AlexNet:
    """torchvision's AlexNet: same module names, parameters and logits."""
    cfg = dataclasses.replace(ALEXNET_CFGS["alexnet"], **overrides)
    return AlexNet(cfg, num_classes=num_classes, in_channels=in_channels)
