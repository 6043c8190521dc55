"""Network in Network (Lin, Chen & Yan, 2014), as Dive into Deep Learning builds it (section 8.3).

A NiN block is a convolution followed by two 1x1 convolutions, each with a
ReLU: a small per-pixel MLP across channels. NiN has no fully connected layer:
its last block outputs one channel per class and a global average pool turns
each channel into a logit, which removes AlexNet's huge linear layers.

``nin_d2l``: blocks 96@11x11/4, 256@5x5, 384@3x3, each followed by a 3x3/2
max-pool, dropout 0.5, then a block with ``num_classes`` channels, global
average pool, flatten. Xavier init. 1 channel, 224x224 by default; the global
pool makes it size-agnostic (67x67 is the smallest input that survives the pools).

The head, and what ``num_features`` means here (our choice; the book has no such
interface). The classifier is the whole last NiN block, not just its final 1x1
conv: the book ties all three of its convs to ``num_classes`` channels, so keeping
the first two while swapping only the last would force a new task through a
``num_classes``-wide bottleneck. Hence:

- ``forward_features`` returns the 384-channel map after the third max-pool;
- ``num_features`` is 384, the channels the classifier reads;
- ``forward_head(x, pre_logits=True)`` returns that map globally average-pooled,
  (N, 384): the natural linear-probe representation. Unlike other families the
  logits are not a linear function of it, because the classifier is a
  convolutional block applied before pooling;
- ``reset_classifier(n)`` rebuilds the last block with ``n`` channels (Xavier
  init); ``n = 0`` removes it, so the model outputs the pooled features.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.models._base import Network, require_whole, xavier_init
from cnnlab.models._registry import BookRecipe, register_model


@dataclass(frozen=True)
class NiNCfg:
    """The architecture's settings, each registered model's own; ``get_model(NAME,
    **overrides)`` replaces any of these fields (``get_model("nin_d2l", dropout=0.3)``)."""

    # One (out_channels, kernel_size, stride, padding) per NiN block before the head.
    stages: tuple[tuple[int, int, int, int], ...] = ((96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1))
    head_kernel_size: int = 3
    dropout: float = 0.5


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
) -> nn.Sequential:
    """conv(k x k) -> ReLU -> conv 1x1 -> ReLU -> conv 1x1 -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(inplace=True),
    )


class NiN(Network):
    """``features`` (NiN blocks and max-pools) -> ``head_drop`` -> ``classifier`` -> pool.

    See the module docstring for what the head members mean for a network whose
    classifier is a convolutional block.
    """

    def __init__(self, cfg: NiNCfg, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        # No stages built a network of the head alone; head_kernel_size 0 failed on a
        # division, a negative stage value deep in torch.
        if not cfg.stages or any(not isinstance(s, (tuple, list)) or len(s) != 4
                                 for s in cfg.stages):
            raise ValueError(f"NiNCfg.stages must be (out_channels, kernel_size, stride, "
                             f"padding) per block, at least one, got {cfg.stages!r}")
        for out_channels, kernel_size, stride, padding in cfg.stages:
            require_whole("NiNCfg", "stages", (out_channels, kernel_size, stride))
            require_whole("NiNCfg", "stages (padding)", padding, least=0)
        require_whole("NiNCfg", "head_kernel_size", cfg.head_kernel_size)
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = in_channels
        for out_channels, kernel_size, stride, padding in cfg.stages:
            layers.append(nin_block(width, out_channels, kernel_size, stride, padding))
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            width = out_channels
        self.features = nn.Sequential(*layers)
        self.num_features = width
        self.head_drop = nn.Dropout(p=cfg.dropout)
        self.classifier = self._make_classifier(num_classes)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.initialise(xavier_init)

    def _make_classifier(self, num_classes: int) -> nn.Module:
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        if num_classes == 0:
            return nn.Identity()
        k = self.cfg.head_kernel_size
        return nin_block(self.num_features, num_classes, k, stride=1, padding=k // 2)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.head_drop(x)
        if not pre_logits:
            x = self.classifier(x)
        return torch.flatten(self.global_pool(x), 1)

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = self.init_head(self._make_classifier(num_classes))


@register_model(
    family="nin",
    paper="Lin, Chen & Yan, Network In Network, ICLR 2014",
    input_size=(1, 224, 224),
    variant="book",
    book_recipe=BookRecipe(lr=0.05, resize=224, book_accuracy=0.865),
    min_input_size=67,
)
def nin_d2l(num_classes=10, in_channels=1, **overrides) -> NiN:
    """NiN as in the book: 96-256-384 NiN blocks, dropout, class-wide block, global pool."""
    cfg = dataclasses.replace(NiNCfg(), **overrides)
    return NiN(cfg, num_classes=num_classes, in_channels=in_channels)
