"""The Fashion-MNIST practice network of the study notes cnnlab grew from (their AlexNet
section, not shipped with the package; README, "Models").

The notes contrast it with the book's AlexNet: small 3x3 convolutions with
LeakyReLU ("retains minor activations for subtle features"), batch norm from
the 128-channel conv on, and a stride-2 conv in place of pooling ("less feature
loss"), then a large MLP:

    1x28x28 -> 16 -> 64 -> 128 (BN) -> 128 stride 2 (BN) -> 256 (BN): 256x14x14
    flatten (50,176) -> 1024, Dropout(0.3), ReLU -> 256, ReLU -> classes

One fix: in the notes the 64 -> 128 conv sits at the end of a comment line, so
the listed code would feed 64 channels into BatchNorm2d(128) and fail; the
comment around it and the shapes make the intent clear, and it is restored here.

The first linear layer holds 51.4M of the 52.2M parameters: that is the notes'
design, kept as is. PyTorch's default init, as in the notes. The builder takes
``image_size`` and sizes that layer for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnnlab.models._base import (
    FlattenClassifierNet,
    flattened_size,
    linear_head,
    require_whole,
)
from cnnlab.models._registry import register_model


@dataclass(frozen=True)
class NotesNetCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("notes_net", dropout=0.5)``)."""

    widths: tuple[int, ...] = (16, 64, 128, 128, 256)  # one 3x3 conv each
    strides: tuple[int, ...] = (1, 1, 1, 2, 1)
    norm_from: int = 2  # index of the first conv followed by batch norm
    hidden: tuple[int, int] = (1024, 256)
    dropout: float = 0.3  # after the first hidden linear layer only, as in the notes
    act_layer: Callable[[], nn.Module] = nn.LeakyReLU
    norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d


def _conv_layers(in_channels: int, cfg: NotesNetCfg) -> list[nn.Module]:
    # Checked here: a width of 0 failed deep in torch.
    require_whole("NotesNetCfg", "widths", cfg.widths)
    require_whole("NotesNetCfg", "strides", cfg.strides)
    if len(cfg.strides) != len(cfg.widths):
        raise ValueError(
            f"NotesNetCfg needs one stride per conv: widths={cfg.widths}, strides={cfg.strides}"
        )
    layers: list[nn.Module] = []
    for i, (width, stride) in enumerate(zip(cfg.widths, cfg.strides, strict=True)):
        layers.append(nn.Conv2d(in_channels, width, kernel_size=3, stride=stride, padding=1))
        if i >= cfg.norm_from:
            layers.append(cfg.norm_layer(width))
        layers.append(cfg.act_layer())
        in_channels = width
    return layers


class NotesNet(FlattenClassifierNet):
    """``features`` (the conv stack) -> flatten -> ``classifier`` (final Linear last)."""

    def __init__(
        self,
        cfg: NotesNetCfg,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 28,
    ):
        super().__init__()
        if not (isinstance(cfg.hidden, (tuple, list)) and len(cfg.hidden) == 2):  # was an
            # unpacking error after the convolutions were built
            raise ValueError(f"NotesNetCfg.hidden must be the two hidden layers' widths, "
                             f"e.g. (1024, 256), got {cfg.hidden!r}")
        require_whole("NotesNetCfg", "hidden", cfg.hidden)
        self.cfg = cfg
        self.features = nn.Sequential(*_conv_layers(in_channels, cfg))
        flat = flattened_size(self.features, in_channels, image_size)
        h1, h2 = cfg.hidden
        self.num_features = h2
        self.classifier = nn.Sequential(
            nn.Linear(flat, h1),
            nn.Dropout(p=cfg.dropout),
            nn.ReLU(),
            nn.Linear(h1, h2),
            nn.ReLU(),
            linear_head(h2, num_classes),
        )



@register_model(
    family="notes",
    paper="cnnlab's study notes (AlexNet section): a Fashion-MNIST practice network",
    input_size=(1, 28, 28),
    variant="cnnlab",
    sized_head=True,
    min_input_size=1,
)
def notes_net(num_classes=10, in_channels=1, image_size=28, **overrides) -> NotesNet:
    """The notes' 3x3 LeakyReLU conv net with a strided conv and a 1024-256 MLP."""
    cfg = dataclasses.replace(NotesNetCfg(), **overrides)
    return NotesNet(cfg, num_classes=num_classes, in_channels=in_channels, image_size=image_size)
