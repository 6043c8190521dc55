"""The first convolution set to whiten image patches, computed from the training data.

A network's first layer spends its early training steps learning what the data's
patches look like: their mean, which directions vary most (edges, blobs), which are
noise. Those are second-order statistics that one pass of linear algebra gives
directly. :func:`whiten_stem` computes the covariance of the k x k patches the first
convolution sees, takes its eigenvectors, and sets each filter to one of them,
scaled by one over the square root of its eigenvalue, so every output channel has
unit variance and the channels are uncorrelated. Each eigenvector is used twice, as
``+v`` and ``-v``: after the ReLU both signs of the projection survive. The filters
are then frozen by default (``requires_grad=False``): the layer is an input
transform, not a learned one. Keller Jordan's airbench (CIFAR-10) starts from the
same idea; this module is written for any first ``nn.Conv2d`` with ``groups=1``.

Measured (Fashion-MNIST, BENCHMARKS.md "A whitened first layer"): the speedrun's
net reaches after three epochs what it otherwise reaches after four.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models._base import first_convolution

# Eigenvalues below this share of the largest are raised to it before scaling: the
# near-noise directions would otherwise be amplified hundreds of times.
EIGENVALUE_FLOOR = 1e-2


def patch_covariance(batches: Iterable[torch.Tensor], conv: nn.Conv2d
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (float64) of the patches ``conv`` reads from ``batches``.

    Patches are taken with the convolution's own kernel, stride, padding and dilation,
    one batch at a time, so the memory needed is one batch's patches.
    """
    dims = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    total = torch.zeros(dims, dtype=torch.float64)
    outer = torch.zeros(dims, dims, dtype=torch.float64)
    count = 0
    for x in batches:
        patches = F.unfold(x.float(), conv.kernel_size, dilation=conv.dilation,
                           padding=conv.padding, stride=conv.stride)  # (B, dims, L)
        patches = patches.transpose(1, 2).reshape(-1, dims)
        total += patches.sum(0).double().cpu()
        outer += (patches.T @ patches).double().cpu()
        count += len(patches)
    if count == 0:
        raise ValueError("no images to compute patch statistics from")
    mean = total / count
    return mean, outer / count - torch.outer(mean, mean)


def whitening_filters(covariance: torch.Tensor, count: int) -> torch.Tensor:
    """The ``count`` leading eigenvectors of ``covariance`` as rows, each divided by
    the square root of its eigenvalue (floored at EIGENVALUE_FLOOR of the largest)."""
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    floor = EIGENVALUE_FLOOR * eigenvalues[0].clamp_min(1e-12)
    scale = eigenvalues[:count].clamp_min(floor).rsqrt()
    return (eigenvectors[:, :count] * scale).T


@torch.no_grad()
def whiten_stem(model: nn.Module, batches: Iterable[torch.Tensor], freeze: bool = True) -> str:
    """Set the model's first convolution to whiten the patches of ``batches``.

    ``batches``: model inputs (already scaled and normalised as in training), e.g. a
    few thousand training images. With C in-channels and a k x k kernel there are
    C*k*k eigenvectors; the first ``min(out_channels // 2, C*k*k)`` fill the filters
    in +/- pairs, the rest of the filters keep their initialisation. A bias, if any,
    is set so each whitened channel has zero mean. ``freeze``: the weight and bias
    get ``requires_grad=False`` (the optimizer then leaves them alone; they are still
    in the state dict). Returns the convolution's name.
    """
    name, conv = first_convolution(model)
    if not isinstance(conv, nn.Conv2d) or conv.groups != 1:
        kind = f"{type(conv).__module__}.{type(conv).__name__}"
        raise ValueError(f"the first convolution ({name}) is {kind} with groups="
                         f"{getattr(conv, 'groups', 1)}; only an nn.Conv2d with groups=1 "
                         "can be whitened")
    mean, covariance = patch_covariance(batches, conv)
    pairs = min(conv.out_channels // 2, len(covariance))
    filters = whitening_filters(covariance, pairs)  # (pairs, C*k*k)
    signed = torch.stack([filters, -filters], dim=1).reshape(2 * pairs, -1)
    weight = conv.weight
    weight[: 2 * pairs] = signed.reshape(-1, *weight.shape[1:]).to(weight)
    if conv.bias is not None:
        conv.bias[: 2 * pairs] = -(signed @ mean).to(conv.bias)
    if freeze:
        for param in conv.parameters(recurse=False):
            param.requires_grad_(False)
    return name
