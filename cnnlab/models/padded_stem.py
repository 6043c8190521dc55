"""The first convolution on one (or three) input channels, computed as one on four.

Fashion-MNIST has one channel, and cuDNN's kernels for a convolution reading one
channel are poor: on an H100 the book ResNet-18's 7x7 stem on 1x96x96 inputs took ~9%
of a bf16 channels_last training step (BENCHMARKS.md, "GPU, first measurements").
Convolution kernels are tuned for channel counts that are multiples of four (NVIDIA's
ResNet-50 input pipelines pad RGB to four channels for this reason), so
:func:`pad_stem_channels` makes the first convolution add zero channels to its input
and zero slices to its weight before convolving. The sum over channels gains only
zero terms, so the output is the same, the extra weights get no gradient (they are
not parameters), and the state dict is unchanged: checkpoints, the EMA, export and
evaluation see the ordinary model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models._base import plain_first_convolution


class ChannelPaddedConv2d(nn.Conv2d):
    """``nn.Conv2d`` that zero-pads input and weight to ``padded_channels`` channels."""

    padded_channels: int
    # Layout of the padded input and weight. Not read from the input: with one channel
    # NCHW and NHWC strides describe the same tensor, so the layout cannot be told.
    padded_channels_last: bool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_channels:  # the plain conv's error would name 4 channels
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input "
                             f"channels (padded to {self.padded_channels}); got {x.shape[1]}")
        extra = self.padded_channels - self.in_channels
        x = F.pad(x, (0, 0, 0, 0, 0, extra))  # (W, H, C) pads, last dimension first
        weight = F.pad(self.weight, (0, 0, 0, 0, 0, extra))
        if self.padded_channels_last:  # the layout the rest of the network runs in
            x = x.contiguous(memory_format=torch.channels_last)
            weight = weight.contiguous(memory_format=torch.channels_last)
        return self._conv_forward(x, weight, self.bias)

    def extra_repr(self) -> str:
        layout = ", channels_last" if self.padded_channels_last else ""
        return f"{super().extra_repr()}, padded_channels={self.padded_channels}{layout}"


def pad_stem_channels(model: nn.Module, channels: int = 4, channels_last: bool = False) -> str:
    """Make the model's first convolution compute on ``channels`` input channels.

    ``channels_last``: compute it in that layout (as the model's other convolutions,
    when the model runs channels_last). Returns the name of the convolution changed.
    Raises ``ValueError`` when the first convolution is not a plain ``nn.Conv2d`` with
    fewer input channels.
    """
    name, conv = plain_first_convolution(model, "padding")
    if conv.in_channels >= channels:
        raise ValueError(f"the first convolution ({name}) reads {conv.in_channels} "
                         f"channel(s); padding needs more than that (e.g. 4), got {channels}")
    # The same module object with a forward that pads: parameters, their names and any
    # optimizer or hook holding them stay as they were.
    conv.__class__ = ChannelPaddedConv2d
    conv.padded_channels = channels
    conv.padded_channels_last = channels_last
    return name


@contextmanager
def plain_stems(model: nn.Module) -> Iterator[nn.Module]:
    """The model with its padded convolutions computing as plain ones, for counting.

    MACs and activation memory counted through a padded stem would include its zero
    channels (+7% MACs for the book ResNet-18 at 96 px); the model's cost is that of
    the one-channel convolution.
    """
    padded = [m for m in model.modules() if isinstance(m, ChannelPaddedConv2d)]
    for m in padded:
        m.__class__ = nn.Conv2d
    try:
        yield model
    finally:
        for m in padded:
            m.__class__ = ChannelPaddedConv2d
