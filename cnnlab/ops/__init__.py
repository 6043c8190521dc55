"""From-scratch primitives of convolutional networks, each checked against PyTorch.

Functional ops: :func:`corr2d` (the loop reference), :func:`conv2d`,
:func:`fft_conv2d`, :func:`pool2d`, :func:`adaptive_avg_pool2d`,
:func:`batch_norm`, and the size formulas :func:`conv_output_size` and
:func:`pool_output_size`. Layers with ``torch.nn``-compatible parameters:
:class:`Conv2d`, :class:`MaxPool2d` / :class:`AvgPool2d` (:class:`Pool2d`),
:class:`AdaptiveAvgPool2d`, :class:`BatchNorm`; :func:`convert_to_scratch` puts
them into any model, and :func:`unconverted_modules` / :func:`unconverted_calls` say
what still runs on PyTorch's kernels (layers; calls a forward makes itself). Each
takes ``torch.nn.functional``'s arguments in its order, so checking one is a line::

    x, w = torch.randn(2, 3, 28, 28), torch.randn(6, 3, 5, 5)
    (conv2d(x, w, padding=2) - F.conv2d(x, w, padding=2)).abs().max()   # ~1e-5
    corr2d(torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2))
    # the book's tensor([[19., 25.], [37., 43.]])

Modules: ``corr`` (the book's loops: cross-correlation, one and many channels),
``conv`` (the same vectorised: padding, stride, channels, groups; its fast GEMM route:
``shift``), ``fft``, ``pool`` and ``adaptive_pool`` (with ``fast_pool``, the CPU's
2 x 2 max pool), ``norm`` (batch norm), ``modules`` (the layers and the switch),
``scratch_check`` (what a forward still leaves to PyTorch), ``_from_scratch`` (the mark
the layers print with).
"""

from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d
from cnnlab.ops.conv import conv2d, conv_output_size
from cnnlab.ops.corr import corr2d, corr2d_multi_in, corr2d_multi_in_out
from cnnlab.ops.fft import fft_conv2d
from cnnlab.ops.modules import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    MaxPool2d,
    Pool2d,
    convert_to_scratch,
    unconverted_modules,
)
from cnnlab.ops.norm import BatchNorm, batch_norm
from cnnlab.ops.pool import pool2d, pool_output_size
from cnnlab.ops.scratch_check import unconverted_calls

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm",
    "Conv2d",
    "MaxPool2d",
    "Pool2d",
    "adaptive_avg_pool2d",
    "batch_norm",
    "conv2d",
    "conv_output_size",
    "convert_to_scratch",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "fft_conv2d",
    "pool2d",
    "pool_output_size",
    "unconverted_calls",
    "unconverted_modules",
]
