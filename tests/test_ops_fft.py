"""fft_conv2d (convolution theorem) against F.conv2d and against our direct conv2d."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from op_helpers import EDGE_CASES, assert_same_op, check_conv, conv_cases, rand

from cnnlab.ops import conv2d, fft_conv2d
from cnnlab.ops.fft import next_fast_len

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


@settings(max_examples=50, deadline=None)
@given(case=conv_cases())
def test_fft_conv2d_matches_torch(case):
    # Any padding, stride, dilation (zeros inserted in the kernel) and groups.
    check_conv(fft_conv2d, case)


@pytest.mark.parametrize("name", EDGE_CASES)
def test_fft_conv2d_edge_cases(name):
    case = dict(bias=True, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    case.update(EDGE_CASES[name])
    for key in ("stride", "dilation", "padding"):
        if isinstance(case[key], int):
            case[key] = (case[key], case[key])
    check_conv(fft_conv2d, case)


def test_fft_conv2d_equals_direct_conv2d_with_a_large_kernel():
    # The regime FFT convolution is for: a 13x13 kernel on a 29x31 image (31 = prime).
    x, w, b = rand(2, 3, 29, 31, seed=1), rand(4, 3, 13, 13, seed=2), rand(4, seed=3)
    assert_same_op(lambda *t: fft_conv2d(*t, padding=6), lambda *t: conv2d(*t, padding=6),
                   x, w, b)


def test_fft_conv2d_float32_is_close_to_direct():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 8, 20, 20, generator=g), torch.randn(8, 8, 7, 7, generator=g)
    torch.testing.assert_close(fft_conv2d(x, w, padding=3), conv2d(x, w, padding=3),
                               atol=2e-4, rtol=1e-4)


def test_fft_conv2d_unbatched_input():
    x, w = rand(3, 9, 9, seed=4), rand(2, 3, 3, 3, seed=5)
    torch.testing.assert_close(fft_conv2d(x, w, stride=2), conv2d(x, w, stride=2))


def test_fft_conv2d_validates_like_conv2d():
    with pytest.raises(ValueError, match="input has 3"):
        fft_conv2d(rand(1, 3, 6, 6), rand(4, 2, 3, 3))


@pytest.mark.parametrize("n, expected", [(1, 1), (7, 8), (11, 12), (30, 30), (31, 32),
                                         (97, 100), (121, 125)])
def test_next_fast_len_has_only_small_prime_factors(n, expected):
    assert next_fast_len(n) == expected


# ---------------------------------------------------------------- the op benchmark


def test_fft_crossover_is_where_fft_stays_ahead():
    from cnnlab.bench.ops import fft_crossover

    def row(k, fft, torch_ms, scratch):
        return {"image": 28, "kernel": k, "fft_ms": fft, "torch_ms": torch_ms,
                "scratch_ms": scratch}

    rows = [row(3, 5, 1, 2), row(5, 5, 6, 4), row(7, 5, 4, 9), row(9, 5, 8, 12)]
    # FFT beats torch at k=5, loses at 7, then wins again: it stays ahead from 9 on.
    assert fft_crossover(rows) == [{"image": 28, "vs_torch": 9, "vs_scratch": 7}]
    assert fft_crossover([row(3, 9, 1, 1)]) == [{"image": 28, "vs_torch": None,
                                                 "vs_scratch": None}]


def test_ops_bench_quick_run_gives_every_table():
    from cnnlab.bench.ops import render_ops_bench, run_ops_bench

    threads = torch.get_num_threads()
    result = run_ops_bench(threads=1, quick=True)
    assert torch.get_num_threads() == threads  # restored
    assert {r["kernel"] for r in result["kernels"]} == {1, 3, 7}
    assert [r["groups"] for r in result["groups"]] == [1, 2, 4]
    assert result["groups"][0]["torch_speedup"] == 1.0
    assert all(r["torch_ms"] > 0 and r["scratch_ms"] > 0 for r in result["target"])
    assert all(r["torch_ms"] > 0 and r["scratch_train_ms"] > 0 for r in result["pooling"])
    assert len(render_ops_bench(result)) == 5


def test_ops_bench_pooling_times_ours_against_the_same_pytorch_op():
    # A row's two callables must compute the same thing, or its ratio compares unlike work.
    from cnnlab.bench.pooling import CASES

    for what, shape, ours, theirs in CASES:
        x = rand(2, 3, *shape[2:], seed=len(what)).requires_grad_()
        mine, reference = ours(x), theirs(x)
        torch.testing.assert_close(mine, reference, msg=what)
        g = rand(*reference.shape, seed=1)
        torch.testing.assert_close(torch.autograd.grad(mine, x, g)[0],
                                   torch.autograd.grad(reference, x, g)[0], msg=what)


def test_an_empty_batch_and_a_strided_output_behave_as_f_conv2d():
    import torch.nn.functional as F

    w = rand(4, 3, 3, 3, seed=1).requires_grad_()
    b = rand(4, seed=2).requires_grad_()
    empty = rand(0, 3, 8, 8, seed=3)
    for name, conv in (("fft", fft_conv2d),
                       ("unfold", lambda *a, **k: conv2d(*a, method="unfold", **k)),
                       ("shift", lambda *a, **k: conv2d(*a, method="shift", **k))):
        y = conv(empty, w, b, padding=1)
        assert y.shape == F.conv2d(empty, w, b, padding=1).shape == (0, 4, 8, 8), name
        y.sum().backward()  # a training step over no images runs
    strided = fft_conv2d(rand(2, 3, 9, 9, seed=4), w, None, stride=2)
    assert strided.is_contiguous()  # as the docstring says


def test_fft_conv2d_with_bias_and_stride_gives_a_contiguous_output():
    # The bias was added to the strided view of the transform: batch strides came out
    # inside channel strides, and y.view(n, -1) failed.
    x, w, b = rand(2, 6, 10, 10, seed=1), rand(3, 2, 3, 4, seed=2), rand(3, seed=3)
    y = fft_conv2d(x, w, b, stride=(1, 3), groups=3)
    assert y.is_contiguous()
    torch.testing.assert_close(y.view(2, -1), conv2d(x, w, b, stride=(1, 3), groups=3).view(2, -1))
