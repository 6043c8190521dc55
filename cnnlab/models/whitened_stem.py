"""The first convolution set to whiten image patches, computed from the training data.

A network's first layer spends its early training steps learning what the data's
patches look like: their mean, which directions vary most (edges, blobs), which are
noise. Those are second-order statistics that one pass of linear algebra gives
directly. :func:`whiten_stem` computes the covariance of the k x k patches the first
convolution sees, takes its eigenvectors, and sets each filter to one of them,
scaled by one over the square root of its eigenvalue, so every output channel has
unit variance and the channels are uncorrelated. Each eigenvector is used twice, as
``+v`` and ``-v``: after the ReLU both signs of the projection survive. The whitened
filters are then held fixed by default: they are an input transform, not learned.
Keller Jordan's airbench (CIFAR-10) starts from the same idea; this module is written
for any first plain ``nn.Conv2d`` with ``groups=1``.

The width decides how much is whitened. C input channels and a k x k kernel give
C*k*k directions. A convolution with at least twice that many filters gets all of
them, and its other filters keep their initialisation and keep training (only the
whitened ones are held). One with fewer gets the leading ``out_channels // 2``: it
then passes only the patches' main components (LeNet's six 5x5 filters: three of 25).

Measured (Fashion-MNIST, BENCHMARKS.md "A whitened first layer"): the narrow
speednet reaches after three epochs what it otherwise reaches after four, and ends a
4-epoch schedule 0.47 points higher (three seeds); by six epochs the others catch up.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models._base import plain_first_convolution
from cnnlab.ops.conv import conv_output_size

# Eigenvalues below this share of the largest are raised to it before scaling: the
# near-noise directions would otherwise be amplified hundreds of times.
EIGENVALUE_FLOOR = 1e-2
PATCH_CHUNK_ELEMENTS = 2**26  # 256 MB of float32 patches at a time


def _patches_per_image(conv: nn.Conv2d, size) -> int:
    # conv_output_size takes the total padding, both sides together.
    height, width = (conv_output_size(n, k, 2 * p, s, d) for n, k, p, s, d in zip(
        size, conv.kernel_size, conv.padding, conv.stride, conv.dilation, strict=True))
    return height * width


def patch_covariance(batches: Iterable[torch.Tensor], conv: nn.Conv2d
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (float64) of the patches ``conv`` reads from ``batches``.

    Patches are taken with the convolution's own kernel, stride, padding and dilation.
    """
    dims = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    total = torch.zeros(dims, dtype=torch.float64)
    outer = torch.zeros(dims, dims, dtype=torch.float64)
    count = 0
    for batch in batches:
        # Unfolding a 512-image batch of 3x224x224 at 7x7 would take gigabytes: take it
        # a few images at a time, at most PATCH_CHUNK_ELEMENTS patch values each.
        for x in batch.split(max(1, PATCH_CHUNK_ELEMENTS // (dims * _patches_per_image(
                conv, batch.shape[-2:])))):
            patches = F.unfold(x.float(), conv.kernel_size, dilation=conv.dilation,
                               padding=conv.padding, stride=conv.stride)  # (B, dims, L)
            # float64 on the CPU only: Apple's MPS has none.
            total += patches.sum(dim=(0, 2)).cpu().double()
            outer += torch.bmm(patches, patches.transpose(1, 2)).sum(0).cpu().double()
            count += patches.shape[0] * patches.shape[2]
    if count == 0:
        raise ValueError("no images to compute patch statistics from")
    mean = total / count
    return mean, outer / count - torch.outer(mean, mean)


def whitening_filters(covariance: torch.Tensor, count: int) -> torch.Tensor:
    """The ``count`` leading eigenvectors of ``covariance`` as rows, each divided by
    the square root of its eigenvalue (floored at EIGENVALUE_FLOOR of the largest)."""
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    if not eigenvalues[0] > 1e-10:
        raise ValueError(f"the images' patches do not vary (largest variance "
                         f"{float(eigenvalues[0]):.3g}): there is nothing to whiten")
    floor = EIGENVALUE_FLOOR * eigenvalues[0]
    scale = eigenvalues[:count].clamp_min(floor).rsqrt()
    return (eigenvectors[:, :count] * scale).T


@torch.no_grad()
def whiten_stem(model: nn.Module, batches: Iterable[torch.Tensor], freeze: bool = True) -> str:
    """Set the model's first convolution to whiten the patches of ``batches``.

    ``batches``: model inputs (already scaled and normalised as in training), e.g. a
    few thousand training images. The first ``min(out_channels // 2, C*k*k)``
    eigenvectors fill the filters in +/- pairs (see the module's docstring). A bias, if
    any, is set so each whitened channel has zero mean. ``freeze``: the whitened
    filters stay as set. When they are all the filters, the weight and bias get
    ``requires_grad=False`` (the optimizer leaves them out); otherwise a gradient hook
    zeroes their rows and the parameters are marked for no weight decay, so the other
    filters train (without weight decay: BN follows, it only scales them). Either way
    the state dict is the usual one. Returns the convolution's name.
    """
    name, conv = plain_first_convolution(model, "whitening")
    if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise ValueError(f"the first convolution ({name}) pads with padding="
                         f"{conv.padding!r}, padding_mode={conv.padding_mode!r}; whitening "
                         "takes patches with numeric zero padding only")
    mean, covariance = patch_covariance(batches, conv)
    pairs = min(conv.out_channels // 2, len(covariance))
    filters = whitening_filters(covariance, pairs)  # (pairs, C*k*k)
    signed = torch.stack([filters, -filters], dim=1).reshape(2 * pairs, -1)
    weight = conv.weight
    # To the weight's dtype on the CPU, then to its device (MPS holds no float64).
    weight[: 2 * pairs] = signed.reshape(-1, *weight.shape[1:]).to(weight.dtype).to(weight)
    if conv.bias is not None:
        conv.bias[: 2 * pairs] = -(signed @ mean).to(conv.bias.dtype).to(conv.bias)
    if freeze:
        _hold_filters(conv, 2 * pairs)
    return name


def _hold_filters(conv: nn.Conv2d, count: int) -> None:
    """Keep the first ``count`` filters of ``conv`` (and their biases) as they are."""
    params = list(conv.parameters(recurse=False))
    if count == conv.out_channels:
        for param in params:
            param.requires_grad_(False)
        return
    keep = torch.ones(conv.out_channels, device=conv.weight.device)
    keep[:count] = 0
    for param in params:
        mask = keep.view(-1, *[1] * (param.ndim - 1)).to(param.dtype)
        param.register_hook(lambda grad, mask=mask: grad * mask)
        # Decay would shrink the held filters too (cnnlab.train.optim reads this flag).
        param.no_weight_decay = True
