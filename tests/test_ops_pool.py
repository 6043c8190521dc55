"""pool2d and adaptive_avg_pool2d against torch.nn.functional: values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_helpers import assert_same_op, rand

from cnnlab.ops import adaptive_avg_pool2d, pool2d, pool_output_size


@st.composite
def pool_cases(draw):
    """Hyperparameters F.max_pool2d / F.avg_pool2d accept, and an input they fit."""
    mode = draw(st.sampled_from(["max", "avg"]))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))  # larger than the kernel too
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # PyTorch's limit
    dilation = (1, 1) if mode == "avg" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = [max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 6))
            for k, p, d in zip(kernel, padding, dilation, strict=True)]
    ceil_mode = draw(st.booleans())
    # A dilated max window can fall wholly in the padding (kernel 2, dilation 3, padding 1
    # on 2 pixels). PyTorch's max_pool2d backward then corrupts the heap (torch 2.14.1,
    # CPU: "double free or corruption", the whole test run aborts), so such cases are not
    # drawn: there is no PyTorch answer to compare with.
    assume(all(_every_window_touches_the_input(n, k, s, p, d, ceil_mode)
               for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)))
    return dict(
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size),
        kernel_size=kernel, stride=stride, padding=padding, mode=mode, dilation=dilation,
        ceil_mode=ceil_mode, count_include_pad=draw(st.booleans()),
    )


def _every_window_touches_the_input(size, kernel, stride, padding, dilation, ceil_mode):
    windows = pool_output_size(size, kernel, 2 * padding, stride, dilation, ceil_mode)
    return all(any(0 <= i * stride - padding + j * dilation < size for j in range(kernel))
               for i in range(windows))


def torch_pool(x, kernel_size, stride, padding, mode, dilation, ceil_mode, count_include_pad):
    if mode == "max":
        return F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    return F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)


@settings(max_examples=60, deadline=None)
@given(case=pool_cases())
def test_pool2d_matches_torch(case):
    case = dict(case)
    shape = case.pop("shape")
    out = assert_same_op(lambda x: pool2d(x, **case), lambda x: torch_pool(x, **case),
                         rand(*shape, seed=1))
    for axis in range(2):
        expected = pool_output_size(shape[2 + axis], case["kernel_size"][axis],
                                    2 * case["padding"][axis], case["stride"][axis],
                                    case["dilation"][axis], case["ceil_mode"])
        assert out.shape[2 + axis] == expected


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=(5, 4), stride=1),  # window as large as the input
        dict(kernel_size=2, stride=3),  # stride larger than the window
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),  # window hangs over the end
        dict(kernel_size=3, stride=2, ceil_mode=True),  # GoogLeNet's pools
    ],
)
def test_pool2d_edge_cases(mode, kwargs):
    x = rand(2, 3, 5, 4, seed=2)
    assert_same_op(lambda t: pool2d(t, mode=mode, **kwargs),
                   lambda t: torch_pool(t, mode=mode, **_torch_defaults(kwargs)), x)


def _torch_defaults(kwargs):
    full = dict(stride=None, padding=0, dilation=1, ceil_mode=False, count_include_pad=True)
    full.update(kwargs)
    return full


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    # After a ReLU whole windows are zero; PyTorch routes each window's gradient to
    # its first element, where amax would split it four ways.
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    assert_same_op(lambda t: pool2d(t, 2), lambda t: F.max_pool2d(t, 2), x)
    x = torch.zeros(1, 1, 4, 4, requires_grad=True)
    pool2d(x, 2).sum().backward()
    assert x.grad[0, 0, ::2, ::2].eq(1).all() and x.grad.sum() == 4


def test_max_pool_never_picks_the_padding():
    x = -torch.rand(1, 2, 5, 5, dtype=torch.float64) - 1.0  # all negative: zero padding would win
    torch.testing.assert_close(pool2d(x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1))


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(padding=1, ceil_mode=True),
                                    dict(ceil_mode=True)])
def test_a_window_of_minus_infinity_sends_its_gradient_to_its_first_real_pixel(kwargs):
    # The padding is -inf too; PyTorch's window starts at its first real pixel.
    x = torch.full((1, 2, 5, 5), float("-inf"))
    x[0, 1, 2, 2] = 1.0  # one finite pixel: its windows route there
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    pool2d(ours, 3, 2, **kwargs).sum().backward()
    F.max_pool2d(theirs, 3, 2, **kwargs).sum().backward()
    assert torch.equal(ours.grad, theirs.grad)


def test_pool2d_unbatched_input():
    x = rand(3, 6, 6, seed=3)
    torch.testing.assert_close(pool2d(x, 2, mode="avg"), F.avg_pool2d(x, 2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_size=2, padding=2), "exceeds half the kernel"),
        (dict(kernel_size=2, mode="min"), "mode must be one of"),
        (dict(kernel_size=2, mode="avg", dilation=2), "no dilation"),
        (dict(kernel_size=9), "padded input"),
        (dict(kernel_size=0), ">= 1"),
    ],
)
def test_pool2d_errors_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool2d(rand(1, 1, 6, 6), **kwargs)


def test_pool_output_size_ceil_mode_rule():
    assert pool_output_size(6, 3, 0, 2) == 2
    assert pool_output_size(6, 3, 0, 2, ceil_mode=True) == 3  # a last, partial window
    # ceil would give 4, but that window would start in the right padding: dropped.
    assert pool_output_size(5, 2, 2, 2, ceil_mode=True) == 3
    assert pool_output_size(1, 3, 0, 3, ceil_mode=True) == 1  # kernel longer than the input


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), out_h=st.integers(1, 8),
       out_w=st.integers(1, 8))
def test_adaptive_avg_pool2d_matches_torch_for_any_sizes(h, w, out_h, out_w):
    # Output sizes that do not divide the input (overlapping, unequal bins) included.
    assert_same_op(lambda x: adaptive_avg_pool2d(x, (out_h, out_w)),
                   lambda x: F.adaptive_avg_pool2d(x, (out_h, out_w)), rand(2, 3, h, w))


@pytest.mark.parametrize(("size", "output_size"), [
    (14, 5), (14, 6), (28, 3), (40, 2), (3, 7)])  # uneven bins: narrow, wide, widest, upsampled
def test_adaptive_avg_pool2d_uneven_bins_match_torch_to_the_second_derivative(size,
                                                                             output_size):
    # Uneven bins have their own backward (the bins from the output back to the input).
    x = rand(2, 3, size, size - 1)
    assert_same_op(lambda t: adaptive_avg_pool2d(t, output_size),
                   lambda t: F.adaptive_avg_pool2d(t, output_size), x)
    x = rand(1, 2, size, size + 1).requires_grad_()
    torch.autograd.gradgradcheck(lambda t: adaptive_avg_pool2d(t, output_size), (x,))


@pytest.mark.parametrize("args", [(3, 2, 1, 1), (2, 1, 0, 2), (3, 3, 1, 1)],
                         ids=["resnet-stem", "dilated-overlapping", "tiling"])
def test_max_pooling_routes_gradients_as_pytorch_to_the_second_derivative(args):
    # Its backward is written out (each window's gradient to the tap that won it); a
    # gradient holding inf or NaN must stay in its own window, as through PyTorch's.
    kernel, stride, padding, dilation = args
    x = rand(2, 3, 9, 8, seed=6).double()
    x[0, 0, :3, :3] = 0.0  # ties, as after a ReLU: the first maximum takes the gradient
    x.requires_grad_()
    ours = pool2d(x, kernel, stride, padding, "max", dilation)
    theirs = F.max_pool2d(x, kernel, stride, padding, dilation)
    g = rand(*theirs.shape, seed=7).double()
    g[0, 1, 0, 0], g[1, 2, 1, 1] = float("inf"), float("nan")
    torch.testing.assert_close(torch.autograd.grad(ours, x, g)[0],
                               torch.autograd.grad(theirs, x, g)[0], equal_nan=True)
    # Away from ties (where a nudge changes the winner, and no derivative exists):
    distinct = rand(2, 3, 9, 8, seed=8).double().requires_grad_()
    torch.autograd.gradgradcheck(lambda t: pool2d(t, kernel, stride, padding, "max", dilation),
                                 (distinct,))


@pytest.mark.parametrize("shape", [(4, 64, 7, 7), (2, 3, 13, 5), (3, 8, 1, 1)])
def test_global_adaptive_pooling_gives_pytorchs_very_values_and_gradients(shape):
    # One mean over both axes, as PyTorch's own: bins taken one axis after the other
    # summed in another order (8.9e-8 off at 64x512x7x7), and took 7 times its time.
    x = rand(*shape, seed=4).requires_grad_()
    for layout in (torch.contiguous_format, torch.channels_last):
        t = x.detach().contiguous(memory_format=layout).requires_grad_()
        ours, theirs = adaptive_avg_pool2d(t, 1), F.adaptive_avg_pool2d(t, 1)
        assert torch.equal(ours, theirs)
        g = rand(*theirs.shape, seed=5)
        assert torch.equal(torch.autograd.grad(ours, t, g)[0],
                           torch.autograd.grad(theirs, t, g)[0])


def test_adaptive_avg_pool2d_global_and_none_sizes():
    x = rand(2, 4, 7, 5)
    torch.testing.assert_close(adaptive_avg_pool2d(x, 1), x.mean((2, 3), keepdim=True))
    torch.testing.assert_close(adaptive_avg_pool2d(x, (None, 2)),
                               F.adaptive_avg_pool2d(x, (None, 2)))
    torch.testing.assert_close(adaptive_avg_pool2d(x[0], 3), F.adaptive_avg_pool2d(x[0], 3))
    # 2.0 was "'float' object is not subscriptable"; (1, 1, 1) passed, its third size unread.
    for size in (2.0, (1, 1, 1), "2"):
        with pytest.raises(ValueError, match=r"output_size is an int, None or an \(h, w\) "
                                             r"pair of them, got "):
            adaptive_avg_pool2d(x, size)
    torch.testing.assert_close(adaptive_avg_pool2d(x, (np.int64(2), 2)),
                               F.adaptive_avg_pool2d(x, 2))  # numpy's whole numbers too


def test_the_readme_call_gives_the_books_pooling_example():
    # d2l 7.5: pool2d(X, (2, 2)) and pool2d(X, (2, 2), 'avg') with the book's stride 1.
    from cnnlab.ops import pool2d

    X = torch.arange(9.0).reshape(1, 3, 3)
    assert pool2d(X, 2, stride=1).tolist() == [[[4.0, 5.0], [7.0, 8.0]]]
    assert pool2d(X, 2, stride=1, mode="avg").tolist() == [[[2.0, 3.0], [5.0, 6.0]]]


def test_the_books_positional_mode_is_refused_with_the_call_to_write():
    from cnnlab.ops import pool2d

    with pytest.raises(TypeError, match=r"pool2d\(X, 2, stride=1, mode='avg'\) is the book's"):
        pool2d(torch.arange(9.0).reshape(1, 3, 3), (2, 2), "avg")
    # The book's own X is (H, W): it got the shape error, and not this hint.
    with pytest.raises(TypeError, match=r"pool2d\(X, 2, stride=1, mode='avg'\) is the book's"):
        pool2d(torch.arange(9.0).reshape(3, 3), (2, 2), "avg")
    with pytest.raises(ValueError, match=r"got \(3, 3\); for one \(H, W\) image, as the book "
                                         r"pools, give X\[None\]"):
        pool2d(torch.arange(9.0).reshape(3, 3), 2, stride=1, mode="avg")


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.int32])
def test_max_pool_of_integer_images_matches_torch(dtype):
    # The -inf border could not be converted to an integer: a RuntimeError, padding or not.
    x = torch.arange(36).reshape(1, 1, 6, 6).flip(-1).to(dtype)
    for padding in (0, 1):
        torch.testing.assert_close(pool2d(x, 3, 2, padding), F.max_pool2d(x, 3, 2, padding))
    with pytest.raises(TypeError, match="pool2d of a bool tensor: give numbers"):
        pool2d(x > 3, 2)  # torch.iinfo's "torch.bool is not supported" before


def test_torchs_positional_dilation_is_refused_naming_the_keyword():
    # F.max_pool2d(x, 3, 2, 1, 2): the fifth argument is dilation there, mode here.
    with pytest.raises(ValueError, match="not 2; pool2d's fifth argument is mode, so give "
                                         "dilation="):
        pool2d(rand(1, 1, 9, 9), 3, 2, 1, 2)


@pytest.mark.parametrize("op", ["max", "avg", "adaptive", "fft"])
def test_a_channels_last_input_comes_out_channels_last_as_from_f(op):
    # Pooling and the FFT conv gave NCHW for it: a network put in channels_last flipped
    # back at its first pooling layer (values right, layout and speed not).
    from cnnlab.ops import fft_conv2d

    x = torch.randn(2, 4, 9, 9).to(memory_format=torch.channels_last)
    w = torch.randn(3, 4, 3, 3)
    ours, theirs = {
        "max": (lambda: pool2d(x, 3, 2, 1), lambda: F.max_pool2d(x, 3, 2, 1)),
        "avg": (lambda: pool2d(x, 3, 2, 1, mode="avg"), lambda: F.avg_pool2d(x, 3, 2, 1)),
        "adaptive": (lambda: adaptive_avg_pool2d(x, 4), lambda: F.adaptive_avg_pool2d(x, 4)),
        "fft": (lambda: fft_conv2d(x, w, padding=1), lambda: F.conv2d(x, w, padding=1)),
    }[op]
    y, expected = ours(), theirs()
    assert expected.is_contiguous(memory_format=torch.channels_last)
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)
    plain = x.contiguous()  # and a plain input stays plain
    assert {"max": lambda: pool2d(plain, 3, 2, 1), "avg": lambda: pool2d(plain, 3, 2, 1),
            "adaptive": lambda: adaptive_avg_pool2d(plain, 4),
            "fft": lambda: fft_conv2d(plain, w, padding=1)}[op]().is_contiguous()


@pytest.mark.parametrize("output_size", [3, 4, (5, 2), 1])
def test_adaptive_avg_pool2d_keeps_an_inf_or_nan_in_its_own_cells(output_size):
    # The averaging matrix products spread them: 0 * inf is NaN, so one NaN pixel made
    # every cell of its bins' row and column NaN, where F's pools only its own bins.
    x = rand(2, 3, 6, 6)
    x[0, 0, 0, 0], x[0, 1, 4, 5], x[1, 2, 3, 1] = float("nan"), float("inf"), float("-inf")
    ours, theirs = adaptive_avg_pool2d(x, output_size), F.adaptive_avg_pool2d(x, output_size)
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    grad = rand(*theirs.shape, seed=5)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    adaptive_avg_pool2d(x_ours, output_size).backward(grad)
    F.adaptive_avg_pool2d(x_theirs, output_size).backward(grad)
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)


def test_adaptive_avg_pool2d_refuses_integers_and_empty_images_by_name():
    # An int64 input stopped in a matmul ("expected scalar type Float but found Long"); an
    # image with no rows gave zeros, where F refuses both.
    with pytest.raises(TypeError, match=r"of a torch.int64 tensor: give a floating-point "
                                        r"one \(x.float\(\)\)"):
        adaptive_avg_pool2d(torch.ones(1, 1, 4, 4, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match=r"\(2, 3, 0, 4\) has no pixels to average \(H and W "
                                         r"must be >= 1"):
        adaptive_avg_pool2d(torch.ones(2, 3, 0, 4), 2)
    assert adaptive_avg_pool2d(torch.ones(0, 3, 5, 4), 2).shape == (0, 3, 2, 2)  # as F's


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=1, padding=1, ceil_mode=True),
                                    dict(stride=1, padding=1, count_include_pad=False)])
def test_average_pooling_of_int64_is_torchs_truncated_int64_mean(kwargs):
    # It came out float32 (-2.5 where F.avg_pool2d gives -2).
    x = torch.tensor([[[[-7, 3, -1, -1, 4], [2, 2, 5, 0, -9], [1, -3, 8, 6, 2]]]])
    ours, theirs = pool2d(x, 2, mode="avg", **kwargs), F.avg_pool2d(x, 2, **kwargs)
    assert ours.dtype == theirs.dtype == torch.int64
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32])
def test_average_pooling_of_other_integers_is_refused_with_the_conversions(dtype):
    with pytest.raises(TypeError, match=rf"average pooling of a {dtype} tensor: give x.float\(\) "
                                        r"for the mean, or x.long\(\)"):
        pool2d(torch.ones(1, 1, 4, 4, dtype=dtype), 2, mode="avg")


def test_a_1x1_max_pool_gives_a_contiguous_output_as_f():
    # F.max_pool2d(x, 1, 2) (an FPN's extra level) came out a strided view: .view() failed.
    x = rand(2, 3, 6, 6)
    y = pool2d(x, 1, 2)
    assert y.is_contiguous() and torch.equal(y, F.max_pool2d(x, 1, 2))
    assert y.view(2, -1).shape == (2, 27)
