"""The from-scratch ops against PyTorch's on a matrix of edge cases and dtypes.

Each case is one the earlier tests touched one at a time, here crossed: stride larger
than the kernel, padding over half the kernel (convolution allows it), dilation, 1x1
inputs and kernels, odd sizes, non-square kernels and long FFT sizes, in float64,
float32 and bfloat16; batch norm in training and evaluation, with momentum, eps and
the running statistics after several steps.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops import adaptive_avg_pool2d, batch_norm, conv2d, corr2d, fft_conv2d, pool2d

# (input H, W; kernel kh, kw; stride; padding; dilation)
CONV_CASES = {
    "stride over kernel": ((9, 11), (2, 2), (3, 4), 0, 1),
    "padding over half the kernel": ((5, 7), (3, 2), 1, (2, 3), 1),
    "dilation, odd sizes": ((13, 9), (3, 3), (2, 1), 1, (2, 3)),
    "1x1 input, 1x1 kernel": ((1, 1), (1, 1), 1, 0, 1),
    "1x1 input padded": ((1, 1), (3, 3), 2, 1, 1),
    "non-square kernel as large as the input": ((5, 8), (5, 3), 1, 0, 1),
    "wide kernel, stride and padding": ((7, 20), (1, 7), (1, 3), (0, 3), (1, 2)),
}
# Tolerances per dtype: bfloat16 has 8 significant bits; the result is compared with
# PyTorch's float64 result cast the same way, so only rounding differs.
TOL = {torch.float64: 1e-10, torch.float32: 1e-4, torch.bfloat16: 5e-2}


def _conv_case(case, dtype, groups=1, seed=0):
    (h, w), (kh, kw), stride, padding, dilation = CONV_CASES[case]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 4 // groups, kh, kw, generator=gen, dtype=torch.float64)
    bias = torch.randn(6, generator=gen, dtype=torch.float64)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, weight, bias, kwargs


@pytest.mark.parametrize("dtype", list(TOL), ids=str)
@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("method", ["shift", "unfold", "fft"])
def test_each_convolution_method_equals_f_conv2d(method, case, dtype):
    x, weight, bias, kwargs = _conv_case(case, dtype, groups=2 if "odd" in case else 1)
    expected = F.conv2d(x, weight, bias, **kwargs)
    x, weight, bias = x.to(dtype), weight.to(dtype), bias.to(dtype)
    if method == "fft":
        got = fft_conv2d(x, weight, bias, **kwargs)
    else:
        got = conv2d(x, weight, bias, method=method, **kwargs)
    assert got.dtype == dtype and got.shape == expected.shape
    scale = expected.abs().max().item() + 1
    assert (got.double() - expected).abs().max().item() <= TOL[dtype] * scale


@pytest.mark.parametrize("method", ["shift", "unfold"])
def test_gradients_of_the_edge_cases_equal_torchs(method):
    for case in CONV_CASES:
        x, weight, bias, kwargs = _conv_case(case, torch.float64)
        grads = []
        for conv in (F.conv2d, lambda *a, **k: conv2d(*a, method=method, **k)):
            leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
            out = conv(*leaves, **kwargs)
            out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
            grads.append([t.grad for t in leaves])
        for ours, theirs in zip(grads[1], grads[0], strict=True):
            torch.testing.assert_close(ours, theirs, msg=case)


# torch's own note on F.conv2d's copy of the input for an even kernel under 'same'
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_fft_convolution_of_a_large_image_with_a_non_square_kernel():
    gen = torch.Generator().manual_seed(1)
    # 97 and 131 are primes: the transform is padded to 100 and 135 (next_fast_len).
    x = torch.randn(1, 3, 97, 131, generator=gen, dtype=torch.float64)
    weight = torch.randn(2, 3, 9, 4, generator=gen, dtype=torch.float64)
    for kwargs in (dict(padding=(4, 1)), dict(stride=(3, 2)), dict(padding="same")):
        torch.testing.assert_close(fft_conv2d(x, weight, **kwargs), F.conv2d(x, weight, **kwargs))


def test_corr2d_of_a_non_square_kernel_is_the_books_cross_correlation():
    X = torch.arange(20.0).view(4, 5)
    K = torch.tensor([[1.0, -2.0, 0.5]])
    torch.testing.assert_close(corr2d(X, K), F.conv2d(X[None, None], K[None, None])[0, 0])
    # Integer pixels with a float kernel: float sums, as X * K gives them.
    assert corr2d(X.long(), K).dtype == torch.float32


POOL_CASES = [
    dict(kernel_size=(3, 2), stride=(4, 3), padding=(1, 1)),  # stride over kernel
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),  # odd size, window hangs over
    dict(kernel_size=(2, 3), stride=1, padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=1, stride=2),
]


@pytest.mark.parametrize("dtype", list(TOL), ids=str)
@pytest.mark.parametrize("kwargs", POOL_CASES, ids=range(len(POOL_CASES)))
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_equals_torchs(mode, kwargs, dtype):
    if mode == "avg" and "dilation" in kwargs:
        pytest.skip("average pooling has no dilation")
    x = torch.randn(2, 3, 7, 9, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch_pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = torch_pool(x.to(dtype), **kwargs)
    got = pool2d(x.to(dtype), mode=mode, **kwargs)
    assert got.dtype == dtype
    torch.testing.assert_close(got, expected, atol=TOL[dtype], rtol=TOL[dtype])
    one = x[:, :, :1, :1].to(dtype)  # a 1x1 image: one window of one pixel
    kernel = dict(kernel_size=1) if mode == "avg" or "dilation" not in kwargs else kwargs
    torch.testing.assert_close(pool2d(one, mode=mode, **kernel), torch_pool(one, **kernel))


@pytest.mark.parametrize("dtype", list(TOL), ids=str)
@pytest.mark.parametrize("out", [(1, 1), (3, 5), (7, None), (4, 9)])
def test_adaptive_average_pooling_of_odd_sizes_equals_torchs(out, dtype):
    x = torch.randn(2, 3, 7, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    got = adaptive_avg_pool2d(x.to(dtype), out)
    assert got.dtype == dtype
    torch.testing.assert_close(got, F.adaptive_avg_pool2d(x.to(dtype), out),
                               atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", list(TOL), ids=str)
@pytest.mark.parametrize("momentum, eps", [(0.1, 1e-5), (0.5, 1e-2), (1.0, 1e-3)])
def test_batch_norm_over_steps_then_in_evaluation_equals_torchs(momentum, eps, dtype):
    # Statistics and weights in the dtype F.batch_norm takes with x: float32 for a
    # bfloat16 x (autocast's rule, which ours follows without autocast too).
    param_dtype = torch.float32 if dtype == torch.bfloat16 else dtype
    gen = torch.Generator().manual_seed(4)
    weight = (torch.rand(3, generator=gen, dtype=torch.float64) + 0.5).to(param_dtype)
    bias = torch.randn(3, generator=gen, dtype=torch.float64).to(param_dtype)
    stats = {who: (torch.zeros(3, dtype=param_dtype), torch.ones(3, dtype=param_dtype))
             for who in ("ours", "torch")}
    tol = dict(atol=TOL[dtype], rtol=TOL[dtype])
    for step in range(3):
        x = torch.randn(4, 3, 5, 3, generator=gen, dtype=torch.float64) * (step + 1) + step
        x = x.to(dtype)
        ours = batch_norm(x, *stats["ours"], weight, bias, True, momentum=momentum, eps=eps)
        theirs = F.batch_norm(x.to(param_dtype), *stats["torch"], weight, bias, True,
                              momentum, eps)
        assert ours.dtype == dtype
        torch.testing.assert_close(ours, theirs.to(dtype), **tol)
        for a, b in zip(stats["ours"], stats["torch"], strict=True):
            torch.testing.assert_close(a, b, **tol)
    x = torch.randn(2, 3, 4, 4, generator=gen, dtype=torch.float64).to(dtype)
    ours = batch_norm(x, *stats["ours"], weight, bias, False, momentum=momentum, eps=eps)
    theirs = F.batch_norm(x.to(param_dtype), *stats["torch"], weight, bias, False, momentum, eps)
    torch.testing.assert_close(ours, theirs.to(dtype), **tol)


def test_batch_norm_in_evaluation_takes_eps_zero_as_torchs_does():
    x = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(5))
    stats = torch.zeros(3), torch.full((3,), 2.0)
    torch.testing.assert_close(batch_norm(x, *stats, eps=0.0),
                               F.batch_norm(x, *stats, None, None, False, 0.1, 0.0))


@pytest.mark.parametrize("conv", [conv2d, fft_conv2d], ids=["conv2d", "fft_conv2d"])
def test_an_empty_batch_gives_zero_gradients_to_weight_and_bias_as_torch(conv):
    # An optimizer step on the last, empty batch of a split reads bias.grad: None
    # there (the bias left out of the graph) would differ from PyTorch's zeros.
    leaves = [torch.randn(0, 3, 5, 5), torch.randn(4, 3, 3, 3), torch.randn(4)]
    leaves = [t.requires_grad_() for t in leaves]
    out = conv(*leaves)
    assert out.shape == (0, 4, 3, 3)
    out.sum().backward()
    for t in leaves:
        torch.testing.assert_close(t.grad, torch.zeros_like(t))


def test_batch_norm_defaults_and_a_negative_scale_are_torchs():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(5, 3, 2, 2, generator=gen, dtype=torch.float64)
    weight = torch.tensor([-2.0, 0.5, -0.25], dtype=torch.float64)  # a learned gamma < 0
    bias = torch.randn(3, generator=gen, dtype=torch.float64)
    ours = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    theirs = tuple(t.clone() for t in ours)
    # Neither momentum nor eps given: both functions' defaults (0.1, 1e-5).
    torch.testing.assert_close(batch_norm(x, *ours, weight, bias, True),
                               F.batch_norm(x, *theirs, weight, bias, True))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)


def test_conversion_keeps_dilations_eps_momentum_and_untracked_statistics():
    from torch import nn

    from cnnlab.ops import convert_to_scratch

    torch.manual_seed(7)
    torch_model = nn.Sequential(nn.Conv2d(3, 3, 3, dilation=(2, 1)),
                                nn.MaxPool2d(3, stride=1, dilation=2),
                                nn.BatchNorm2d(3, track_running_stats=False, eps=0.5),
                                nn.BatchNorm2d(3, eps=0.25, momentum=0.7))
    x = torch.randn(4, 3, 13, 13)
    with torch.no_grad():
        expected = [torch_model.train(mode)(x) for mode in (True, False)]
        model = convert_to_scratch(torch_model)
        assert not model[2].track_running_stats
        # Converted tensors are shared: reset the tracked statistics to their start.
        model[3].reset_running_stats()
        for mode, want in zip((True, False), expected, strict=True):
            torch.testing.assert_close(model.train(mode)(x), want)
