"""Every from-scratch op against torch.nn.functional on seeded random cases.

The other op tests check one op at a time in float64; this one sweeps what a user
may hand any of them together: shapes (empty batches included), strides, padding,
dilation, groups, float64 / float32 / bfloat16, contiguous, channels-last and
strided (non-contiguous) inputs, gradients, and inf / NaN pixels. Each case comes
from ``random.Random(seed)``, so a failure names a case that reruns alike.

bfloat16 is compared with F's answer for the same (rounded) inputs computed in
float64: torch 2.14's own bfloat16 CPU convolution is wrong for some geometries
(a (1, 1, 6, 4) input, 4x4 kernel, stride (1, 3), padding 1 is off by 3).
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops import adaptive_avg_pool2d, batch_norm, conv2d, fft_conv2d, pool2d
from cnnlab.ops.fast_pool import MaxPool2x2

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

CASES = 40  # per op and layout: about 2 s for the file on one busy core
TOL = {torch.float64: (1e-9, 1e-9), torch.float32: (1e-4, 1e-4), torch.bfloat16: (0.05, 0.02)}
LAYOUTS = ["contiguous", "channels_last", "strided"]


def as_layout(t: torch.Tensor, layout: str) -> torch.Tensor:
    if layout == "channels_last":
        return t.contiguous(memory_format=torch.channels_last)
    if layout == "strided":  # every other column of a wider tensor: same values, odd strides
        wide = t.new_zeros(*t.shape[:-1], 2 * t.shape[-1])
        wide[..., ::2] = t
        return wide[..., ::2]
    return t


def draw(rng: random.Random, shape, dtype, specials: bool) -> torch.Tensor:
    t = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(
        rng.randrange(2**31)))
    if specials and t.numel():
        for _ in range(2):
            t.view(-1)[rng.randrange(t.numel())] = rng.choice([float("nan"), float("inf"),
                                                               float("-inf")])
    return t.to(dtype)


def check(case, ours, theirs, inputs, dtype, specials=False):
    """Values (NaN and inf where F has them), output dtype and layout, and in float64
    the gradient of every input. With ``specials`` (an inf or NaN drawn into the input):
    where each inf and NaN lands, and the finite values around them."""
    def leaves(ts, to=None):
        return [None if t is None else t.detach().to(to or t.dtype).requires_grad_()
                for t in ts]

    ours_in = leaves(inputs)
    out = ours(*ours_in)
    # F's answer for bfloat16 comes from float64 (see the module docstring).
    ref_in = leaves(inputs, torch.float64 if dtype == torch.bfloat16 else None)
    expected = theirs(*ref_in)
    assert out.shape == expected.shape and out.dtype == dtype, (case, out.shape, out.dtype)
    if expected.numel() and expected.is_contiguous() and ref_in[0].is_contiguous():
        assert out.is_contiguous(), case
    if expected.numel() and inputs[0].dim() == 4 and inputs[0].is_contiguous(
            memory_format=torch.channels_last) and not inputs[0].is_contiguous():
        assert out.is_contiguous(memory_format=torch.channels_last), case
    atol, rtol = TOL[dtype]
    if specials:  # where inf and NaN land, and the finite values beside them
        for test in (torch.isnan, torch.isposinf, torch.isneginf):
            assert torch.equal(test(out.detach()), test(expected.detach())), (case, test)
        finite = torch.isfinite(expected.detach())
        torch.testing.assert_close(out.detach()[finite].double(),
                                   expected.detach()[finite].double(), atol=atol, rtol=rtol,
                                   msg=lambda m: f"{case}, finite values: {m}")
        return
    torch.testing.assert_close(out.detach().double(), expected.detach().double(), atol=atol,
                               rtol=rtol, msg=lambda m: f"{case}: {m}")
    if dtype != torch.float64 or not expected.numel():
        return
    upstream = torch.randn(expected.shape, dtype=dtype,
                           generator=torch.Generator().manual_seed(1))
    out.backward(upstream)
    expected.backward(upstream)
    for k, (a, b) in enumerate(zip(ours_in, ref_in, strict=True)):
        if b is not None:
            torch.testing.assert_close(a.grad, b.grad, atol=atol, rtol=rtol,
                                       msg=lambda m, k=k: f"{case}, gradient {k}: {m}")


def dtype_and_specials(rng):
    dtype = rng.choice([torch.float64, torch.float64, torch.float32, torch.bfloat16])
    return dtype, dtype != torch.bfloat16 and rng.random() < 0.2


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("method", ["shift", "unfold", "auto", "fft"])
def test_conv_on_random_cases(method, layout):
    for seed in range(CASES):
        conv_case(method, layout, seed)


def conv_case(method, layout, seed):
    rng = random.Random(f"conv {method} {layout} {seed}")
    dtype, specials = dtype_and_specials(rng)
    specials = specials and method != "fft"  # the transform spreads them (docstring)
    groups = rng.choice([1, 1, 2, 3])
    # No input channels: F.conv2d's (N, 0, ...) is pytorch/pytorch#101356 (test_ops_conv).
    c_group, o_group = rng.randint(1, 4), rng.randint(1, 3)
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    dilation = (rng.randint(1, 3), rng.randint(1, 2))
    padding = rng.choice([0, 1, (rng.randint(0, 3), rng.randint(0, 3)), "same", "valid"])
    stride = (1, 1) if padding == "same" else stride
    size = [d * (k - 1) + 1 + rng.randint(0, 5) for k, d in zip(kernel, dilation, strict=True)]
    x = draw(rng, (rng.choice([0, 1, 2, 2, 3]), groups * c_group, *size), dtype, specials)
    w = draw(rng, (groups * o_group, c_group, *kernel), dtype, False)
    b = draw(rng, (groups * o_group,), dtype, False) if rng.random() < 0.6 else None
    hyper = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    case = (method, seed, tuple(x.shape), tuple(w.shape), hyper, dtype, layout)
    ours = (lambda *t: fft_conv2d(*t, **hyper)) if method == "fft" else (
        lambda *t: conv2d(*t, **hyper, method=method))
    check(case, ours, lambda *t: F.conv2d(*t, **hyper), [as_layout(x, layout), w, b],
          dtype, specials)


def _touches_the_input(n, k, s, p, d, ceil_mode):
    # F.max_pool2d's backward corrupts the heap for a window wholly in the padding
    # (test_ops_pool.pool_cases): such cases are not drawn.
    from cnnlab.ops import pool_output_size

    windows = pool_output_size(n, k, 2 * p, s, d, ceil_mode)
    return all(any(0 <= i * s - p + j * d < n for j in range(k)) for i in range(windows))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_on_random_cases(mode, layout):
    for seed in range(CASES):
        pool_case(mode, layout, seed)


def pool_case(mode, layout, seed):
    rng = random.Random(f"pool {mode} {layout} {seed}")
    dtype, specials = dtype_and_specials(rng)
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    stride = rng.choice([None, (rng.randint(1, 3), rng.randint(1, 3))])
    padding = (rng.randint(0, kernel[0] // 2), rng.randint(0, kernel[1] // 2))
    dilation = (rng.randint(1, 2), rng.randint(1, 2)) if mode == "max" else (1, 1)
    ceil_mode, count_include_pad = rng.random() < 0.4, rng.random() < 0.5
    size = [max(1, d * (k - 1) + 1 - 2 * p) + rng.randint(0, 5)
            for k, p, d in zip(kernel, padding, dilation, strict=True)]
    if not all(_touches_the_input(*a, ceil_mode) for a in zip(
            size, kernel, stride or kernel, padding, dilation, strict=True)):
        return
    x = draw(rng, (rng.choice([0, 1, 2, 2]), rng.randint(1, 3), *size), dtype, specials)
    case = (mode, seed, tuple(x.shape), kernel, stride, padding, dilation, ceil_mode,
            count_include_pad, dtype, layout)
    if mode == "max":
        ours = lambda t: pool2d(t, kernel, stride, padding, "max", dilation, ceil_mode)  # noqa: E731
        theirs = lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode)  # noqa: E731
    else:
        ours = lambda t: pool2d(t, kernel, stride, padding, "avg", 1, ceil_mode,  # noqa: E731
                                count_include_pad)
        theirs = lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode,  # noqa: E731
                                        count_include_pad)
    check(case, ours, theirs, [as_layout(x, layout)], dtype, specials)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_adaptive_and_fast_pooling_on_random_cases(layout):
    for seed in range(CASES):
        adaptive_and_fast_pool_case(layout, seed)


def adaptive_and_fast_pool_case(layout, seed):
    rng = random.Random(f"adaptive {layout} {seed}")
    dtype, specials = dtype_and_specials(rng)
    shape = (rng.choice([0, 1, 2]), rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9))
    size = rng.choice([1, (rng.randint(1, 6), rng.randint(1, 6)), (None, rng.randint(1, 4))])
    x = as_layout(draw(rng, shape, dtype, specials), layout)
    check(("adaptive", seed, shape, size, dtype, layout),
          lambda t: adaptive_avg_pool2d(t, size), lambda t: F.adaptive_avg_pool2d(t, size),
          [x], dtype, specials)
    even = (shape[0] or 1, shape[1], 2 * rng.randint(1, 4), 2 * rng.randint(1, 4))
    x = as_layout(draw(rng, even, dtype, specials), layout)
    check(("MaxPool2x2", seed, even, dtype, layout), MaxPool2x2(),
          lambda t: F.max_pool2d(t, 2, 2), [x], dtype, specials)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_batch_norm_on_random_cases(layout):
    for seed in range(CASES):
        batch_norm_case(layout, seed)


def batch_norm_case(layout, seed):
    rng = random.Random(f"batch norm {layout} {seed}")
    dtype, specials = dtype_and_specials(rng)
    rank = 4 if layout == "channels_last" else rng.choice([2, 3, 4])
    shape = (rng.choice([0, 2, 3]), rng.randint(1, 3),
             *[rng.randint(1, 4) for _ in range(rank - 2)])
    x = as_layout(draw(rng, shape, dtype, specials), layout)
    c, training = shape[1], rng.random() < 0.6
    weight = draw(rng, (c,), dtype, False) if rng.random() < 0.7 else None
    bias = draw(rng, (c,), dtype, False) if rng.random() < 0.7 else None
    # F.batch_norm takes float32 statistics for bfloat16 input, and x's dtype else.
    stats = torch.float32 if dtype == torch.bfloat16 else dtype
    mean = draw(rng, (c,), stats, False)
    var = draw(rng, (c,), stats, False).abs() + 0.5
    mine, fs = (mean.clone(), var.clone()), (mean.clone(), var.clone())
    momentum, eps = rng.choice([0.1, 0.5]), rng.choice([1e-5, 1e-3])
    case = ("batch_norm", seed, shape, training, dtype, layout)
    if dtype == torch.bfloat16:  # F's reference in float64 takes float64 statistics
        fs = tuple(t.double() for t in fs)
    check(case, lambda t, w, b: batch_norm(t, *mine, w, b, training, momentum, eps),
          lambda t, w, b: F.batch_norm(t, *fs, w, b, training, momentum, eps),
          [x, weight, bias], dtype, specials)
    if not specials:  # the running statistics moved alike
        for a, b in zip(mine, fs, strict=True):
            torch.testing.assert_close(a.double(), b.double(), atol=1e-3, rtol=1e-3,
                                       msg=lambda m: f"{case} running statistics: {m}")
