"""cnnlab.ops.conv against torch.nn.functional.conv2d: values and gradients.

The comparison helpers and the conv cases (shared with the FFT tests) are in
op_helpers.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from op_helpers import (
    ATOL,
    EDGE_CASES,
    RTOL,
    assert_same_op,
    check_conv,
    conv_cases,
    rand,
)

from cnnlab.ops import conv2d, conv_output_size, corr2d, corr2d_multi_in_out

# PyTorch itself warns about this case (an extra padded copy); we test it on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


# ---------------------------------------------------------------- conv_output_size


def test_output_size_is_the_notes_formula():
    # floor((n - k + p + s) / s) with p the total padding (notes section 1(2)).
    assert conv_output_size(8, 3, p=2, s=2) == 4  # (8 - 3 + 2 + 2) // 2
    assert conv_output_size(8, 3) == 6
    assert conv_output_size(28, 5, p=4) == 28  # padding=2 on each side keeps the size
    assert conv_output_size(7, 3, p=0, s=3) == 2


def test_output_size_with_dilation_uses_the_effective_kernel():
    # A 3-tap kernel at dilation 2 spans 5 pixels.
    assert conv_output_size(9, 3, d=2) == conv_output_size(9, 5) == 5
    assert conv_output_size(9, 3, p=4, d=2) == 9  # "same" needs d * (k - 1) in total


@pytest.mark.parametrize(
    "args, match",
    [((3, 5), "padded input"), ((3, 3, 0, 0), "s, d >= 1"), ((3, 3, -1), "p >= 0")],
)
def test_output_size_rejects_impossible_geometry(args, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args)


# ---------------------------------------------------------------- the loop reference


def test_corr2d_reproduces_the_book_example():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    torch.testing.assert_close(corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))
    # A book reader's NumPy arrays and lists ("no attribute 'dim'" before).
    torch.testing.assert_close(corr2d(X.numpy(), K.numpy()), corr2d(X, K))
    assert corr2d(X.tolist(), K.tolist()).tolist() == [[19.0, 25.0], [37.0, 43.0]]


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 4), kw=st.integers(1, 4),
       c_in=st.integers(1, 3), c_out=st.integers(1, 3))
def test_corr2d_reference_agrees_with_vectorised_conv2d(h, w, kh, kw, c_in, c_out):
    h, w = h + kh - 1, w + kw - 1
    X, K = rand(c_in, h, w, seed=4), rand(c_out, c_in, kh, kw, seed=5)
    expected = conv2d(X.unsqueeze(0), K)[0]
    torch.testing.assert_close(corr2d_multi_in_out(X, K), expected, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(corr2d(X[0], K[0, 0]), conv2d(X[:1], K[:1, :1])[0], atol=ATOL,
                               rtol=RTOL)


def test_corr2d_is_differentiable_and_matches_torch_gradients():
    assert_same_op(lambda x, k: corr2d(x, k),
                   lambda x, k: F.conv2d(x[None, None], k[None, None])[0, 0],
                   rand(6, 5, seed=6), rand(3, 2, seed=7))


def test_corr2d_of_integer_pixels_and_a_float_kernel_is_float_and_differentiable():
    # Y took X's dtype: [[2, 3], [5, 6]], truncated, and the kernel's gradient lost.
    from cnnlab.ops import corr2d_multi_in

    K = torch.tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
    Y = corr2d(torch.arange(9).reshape(3, 3), K)
    torch.testing.assert_close(Y, torch.tensor([[2.7, 3.7], [5.7, 6.7]]))
    Y.sum().backward()
    torch.testing.assert_close(K.grad, torch.tensor([[8.0, 12.0], [20.0, 24.0]]))
    torch.testing.assert_close(corr2d_multi_in(torch.arange(18).reshape(2, 3, 3),
                                               torch.full((2, 2, 2), 0.1)),
                               torch.tensor([[5.2, 6.0], [7.6, 8.4]]))
    with pytest.raises(ValueError, match=r"same C, got shapes \(3, 4, 4\), \(2, 2, 2\)$"):
        corr2d_multi_in(torch.ones(3, 4, 4), torch.ones(2, 2, 2))  # zip() was shorter
    with pytest.raises(ValueError, match="for one channel, use corr2d"):
        corr2d_multi_in(torch.ones(4, 4), torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"kernel is 4x4, X only 3x3: no position"):
        corr2d(torch.ones(3, 3), torch.ones(4, 4))  # it spoke of dilation and padding


# ---------------------------------------------------------------- conv2d


@pytest.mark.parametrize("method", ["auto", "shift", "unfold"])
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_conv2d_matches_torch(method, case):
    check_conv(conv2d, case, method=method)


@pytest.mark.parametrize("method", ["auto", "shift", "unfold"])
@pytest.mark.parametrize("name", EDGE_CASES)
def test_conv2d_edge_cases(method, name):
    case = dict(bias=True, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    case.update(EDGE_CASES[name])
    for key in ("stride", "dilation", "padding"):
        if isinstance(case[key], int):
            case[key] = (case[key], case[key])
    check_conv(conv2d, case, method=method)


@pytest.mark.parametrize("block_elements", [40, 400, 4000])
@pytest.mark.parametrize(
    "case",
    [
        dict(x=(3, 4, 9, 11), weight=(6, 4, 3, 3), padding=(1, 1)),
        dict(x=(2, 4, 12, 10), weight=(4, 2, 3, 2), stride=(2, 3), dilation=(2, 1), groups=2),
        dict(x=(3, 2, 7, 7), weight=(2, 2, 2, 2), padding=(3, 0)),
    ],
)
def test_conv2d_shift_blocks_of_any_size(monkeypatch, block_elements, case):
    # Tiny blocks force the "grid rows within one image" walk used for large images;
    # larger ones cover several whole images per block.
    import cnnlab.ops.shift as shift_module

    monkeypatch.setattr(shift_module, "BLOCK_ELEMENTS", block_elements)
    full = dict(bias=True, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1) | case
    check_conv(conv2d, full, method="shift")


def test_conv2d_unfold_has_second_derivatives():
    def double_backward(op):
        x, w = rand(2, 3, 7, 7, seed=12).requires_grad_(), rand(4, 3, 3, 3, seed=13)
        w.requires_grad_()
        (gx,) = torch.autograd.grad(op(x, w).pow(2).sum(), x, create_graph=True)
        return torch.autograd.grad(gx.pow(2).sum(), w)[0]

    expected = double_backward(lambda x, w: F.conv2d(x, w, stride=2, padding=1))
    ours = double_backward(lambda x, w: conv2d(x, w, stride=2, padding=1, method="unfold"))
    torch.testing.assert_close(ours, expected, atol=ATOL, rtol=RTOL)


def test_a_bool_is_no_stride_and_numpys_whole_numbers_are():
    # stride=True reached unfold(): "argument 'step' must be int, not bool".
    x, w = rand(1, 2, 6, 6, seed=1), rand(3, 2, 3, 3, seed=2)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints, got True"):
        conv2d(x, w, stride=True)
    torch.testing.assert_close(conv2d(x, w, stride=np.int64(2)), F.conv2d(x, w, stride=2))


def test_conv2d_accepts_an_unbatched_image_and_channels_last_input():
    x, w, b = rand(3, 8, 8, seed=8), rand(4, 3, 3, 3, seed=9), rand(4, seed=10)
    torch.testing.assert_close(conv2d(x, w, b, padding=1), F.conv2d(x, w, b, padding=1))
    x4 = rand(2, 3, 8, 8, seed=11).to(memory_format=torch.channels_last)
    torch.testing.assert_close(conv2d(x4, w, b, stride=2), F.conv2d(x4, w, b, stride=2))
    # Every method writes its output in the input's memory format, as F.conv2d does (the
    # unfold method's came out NCHW, though its docstring said otherwise).
    w16 = rand(16, 16, 3, 3, seed=14)
    for fmt in (torch.contiguous_format, torch.channels_last):
        x16 = rand(2, 16, 9, 9, seed=15).contiguous(memory_format=fmt)
        for method in ("shift", "unfold", "auto"):
            out = conv2d(x16, w16, padding=1, method=method)
            assert out.is_contiguous(memory_format=fmt), (fmt, method)
            torch.testing.assert_close(out, F.conv2d(x16, w16, padding=1))
    x16, w_last = rand(2, 16, 9, 9, seed=15), w16.contiguous(memory_format=torch.channels_last)
    assert F.conv2d(x16, w_last).is_contiguous(memory_format=torch.channels_last)
    for method in ("shift", "unfold"):  # a channels-last weight alone, as F's
        assert conv2d(x16, w_last, method=method).is_contiguous(
            memory_format=torch.channels_last), method


@pytest.mark.parametrize("method", ["shift", "unfold"])
def test_conv2d_float32_matches_at_float32_precision(method):
    x = torch.randn(4, 16, 12, 12, generator=torch.Generator().manual_seed(0))
    w = torch.randn(8, 16, 3, 3, generator=torch.Generator().manual_seed(1))
    out = conv2d(x, w, padding=1, method=method)
    torch.testing.assert_close(out, F.conv2d(x, w, padding=1), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weight=(4, 2, 3, 3)), "input has 3"),
        (dict(weight=(4, 1, 3, 3), groups=2), "groups=2 must divide"),
        (dict(padding="same", stride=2), "needs stride 1"),
        (dict(padding="full"), "'same' or 'valid'"),
        (dict(weight=(4, 3, 9, 9)), "padded input"),
        (dict(method="winograd"), "method must be"),
        (dict(bias=(3,)), r"bias must have shape \(4,\)"),
    ],
)
def test_conv2d_errors_name_the_problem(kwargs, match):
    x = rand(1, 3, 6, 6)
    w = rand(*kwargs.pop("weight", (4, 3, 3, 3)))
    b = rand(*kwargs.pop("bias")) if "bias" in kwargs else None
    with pytest.raises(ValueError, match=match):
        conv2d(x, w, b, **kwargs)


def test_a_fractional_groups_is_refused_by_name():
    with pytest.raises(TypeError, match="groups must be a whole number, got 2.0"):
        conv2d(rand(1, 4, 6, 6), rand(4, 2, 3, 3), groups=2.0)


@pytest.mark.parametrize("method", ["shift", "unfold", "auto", "fft"])
def test_a_conv_without_input_channels_gives_the_bias_everywhere(method):
    # The unfold method stopped on "cannot reshape tensor of 0 elements" and fft_conv2d in
    # the FFT library; the shift method gave this. F.conv2d's (2, 0, 3, 3) has no output
    # channels at all (pytorch/pytorch#101356; torch.compile gives (2, 3, 3, 3) too).
    from cnnlab.ops import fft_conv2d

    def op(*t, **kw):
        return fft_conv2d(*t, **kw) if method == "fft" else conv2d(*t, **kw, method=method)

    x, w, b = torch.ones(2, 0, 5, 5), torch.ones(3, 0, 3, 3), rand(3, seed=1).float()
    b.requires_grad_()
    y = op(x, w, b, padding=(1, 0))
    assert torch.equal(y, b.detach().view(1, 3, 1, 1).expand(2, 3, 5, 3))
    y.sum().backward()
    assert torch.equal(b.grad, torch.full((3,), 30.0))  # 2 images x 15 positions
    assert torch.equal(op(x[0], w), torch.zeros(3, 3, 3))  # unbatched, no bias
    # No output channels: an empty result, where F.conv2d refuses the weight.
    assert op(torch.ones(2, 3, 5, 5), torch.ones(0, 3, 3, 3)).shape == (2, 0, 3, 3)
