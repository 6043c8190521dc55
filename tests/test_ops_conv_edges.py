"""conv2d and conv_output_size on the geometries and refusals the random cases missed.

Each test here was written against a hand-made mutant of cnnlab/ops/conv.py that the
rest of the suite let through (session 34's mutation test): "same" padding with
dilation in conv_output_size, an even kernel's odd "same" padding along the height,
and the refusals that must name the argument at fault rather than fail later on
conv_output_size's short names or in a reshape.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from op_helpers import rand

from cnnlab.ops import conv2d, conv_output_size, corr2d, fft_conv2d
from cnnlab.ops.conv import ConvGeometry, choose_method

# PyTorch warns about "same" with an even kernel (an extra padded copy); tested on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


@pytest.mark.parametrize("n, k, d", [(7, 3, 2), (6, 2, 3), (9, 4, 2), (5, 1, 3)])
def test_same_padding_keeps_the_size_with_dilation(n, k, d):
    # "same" pads d * (k - 1) in all; it had been k - 1, so a dilated kernel shrank
    # the output that conv2d keeps at n.
    x, w = torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k)
    assert F.conv2d(x, w, padding="same", dilation=d).shape[-1] == n
    assert conv_output_size(n, kernel_size=k, padding="same", dilation=d) == n


@pytest.mark.parametrize("op", ["shift", "unfold", "fft"])
def test_same_padding_of_an_even_kernel_height_puts_the_extra_row_at_the_bottom(op):
    # Odd total padding along the height (kernel 2 or 4 tall, dilation 1 or 3): the
    # output size takes top + bottom, not the top twice. The shared edge case had an
    # even total along the height, so only the width tried the odd split.
    x, w, b = rand(1, 2, 5, 4, seed=1), rand(3, 2, 4, 3, seed=2), rand(3, seed=3)
    for dilation in (1, (3, 1)):
        expected = F.conv2d(x, w, b, padding="same", dilation=dilation)
        if op == "fft":
            out = fft_conv2d(x, w, b, padding="same", dilation=dilation)
        else:
            out = conv2d(x, w, b, padding="same", dilation=dilation, method=op)
        assert out.shape == expected.shape == (1, 3, 5, 4)
        torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("kwargs, match", [
    (dict(padding=(0, -1)), r"padding must be non-negative, got \(0, -1\)"),
    (dict(dilation=(1, 0)), r"stride and dilation must be >= 1, got \(1, 1\), \(1, 0\)"),
    (dict(weight=(3, 1, 3, 3), groups=2), r"groups=2 must divide .*output channels \(3\)"),
])
def test_conv2d_refusals_name_the_argument(kwargs, match):
    # Without their own checks these failed later: negative widths and a zero dilation in
    # conv_output_size, as "p=-2" or "d=0", names conv2d's caller never used; output
    # channels that groups does not divide in a reshape of the weight.
    w = rand(*kwargs.pop("weight", (4, 2, 3, 3)))
    with pytest.raises(ValueError, match=match):
        conv2d(rand(1, 2, 6, 6), w, **kwargs)


def test_corr2d_names_a_kernel_wider_than_x():
    # Only a kernel taller than X had been tried; a wider one failed in conv_output_size.
    with pytest.raises(ValueError, match=r"kernel is 2x4, X only 3x3: no position"):
        corr2d(torch.ones(3, 3), torch.ones(2, 4))


def _geometry(c_in, c_out, k, groups=1, size=16):
    x, w = torch.zeros(1, c_in, size, size), torch.zeros(c_out, c_in // groups, k, k)
    return ConvGeometry.of(x, w, None, 1, k // 2, 1, groups)


@pytest.mark.parametrize("c_in, c_out, k, groups, method", [
    (64, 64, 1, 1, "unfold"),  # 1x1: a plain matrix product
    (16, 32, 3, 1, "shift"),  # enough input channels for the per-tap GEMMs
    (8, 32, 3, 1, "unfold"),  # too few for a dense conv (below 16)
    (16, 32, 3, 2, "shift"),  # 8 a group: enough for a grouped one
    (8, 16, 3, 2, "unfold"),  # 4 a group: too few
])
def test_auto_picks_the_method_its_docstring_promises(c_in, c_out, k, groups, method):
    # Speed only (both methods give F.conv2d's values), but bench ops reports the pick.
    assert choose_method(_geometry(c_in, c_out, k, groups)) == method


def test_autocast_leaves_float64_alone_as_f_conv2d_does():
    x, w = rand(1, 2, 5, 5, seed=1), rand(3, 2, 3, 3, seed=2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = F.conv2d(x, w)
        outs = [conv2d(x, w, method=m) for m in ("shift", "unfold")] + [fft_conv2d(x, w)]
    for out in outs:
        assert out.dtype == expected.dtype == torch.float64
        torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("op", ["shift", "unfold", "fft"])
def test_autocast_names_a_float64_input_with_lower_precision_weights(op):
    # Autocast casts the float32 weight, never the float64 input: the dtypes still differ,
    # and the message says so rather than a matrix product deep inside failing on them.
    x, w = rand(1, 2, 5, 5, seed=1), rand(3, 2, 3, 3, seed=2).float()
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(
            TypeError, match="input is torch.float64 but weight is torch.bfloat16"):
        fft_conv2d(x, w) if op == "fft" else conv2d(x, w, method=op)
