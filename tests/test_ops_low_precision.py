"""The from-scratch ops in half precision and under autocast, as ``--amp`` runs them.

``cnnlab train --amp bf16`` (the default on CUDA) runs the model under
``torch.autocast``; with ``--scratch-ops`` that is cnnlab's ops. F.conv2d is on
autocast's lower-precision list, so it computes in the autocast dtype whatever
dtype it is given; ours must too, or a layer whose input an earlier matrix product
left in bfloat16 meets a float32 weight.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops import adaptive_avg_pool2d, conv2d, fft_conv2d, pool2d


def randn(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("method", ["shift", "unfold"])
@pytest.mark.parametrize("x_dtype", [torch.float32, torch.bfloat16])
def test_conv2d_under_autocast_computes_in_the_autocast_dtype_as_f_conv2d(method, x_dtype):
    # A bfloat16 input (an earlier layer's bmm under autocast) and float32 weights:
    # the shift method stopped with "Bad in-place call: input tensor dtype
    # c10::BFloat16 and output tensor dtype float should match".
    x = randn(2, 16, 8, 8, seed=1).to(x_dtype).requires_grad_()
    w, b = randn(16, 16, 3, 3, seed=2).requires_grad_(), randn(16, seed=3).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv2d(x, w, b, padding=1, method=method)
        expected = F.conv2d(x, w, b, padding=1)
    assert out.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected.float(), atol=0.3, rtol=0.05)
    out.float().sum().backward()  # the gradients reach the float32 parameters
    assert w.grad.dtype == torch.float32 and x.grad.dtype == x_dtype


def test_conv2d_names_mismatched_dtypes_outside_autocast():
    x, w = randn(1, 16, 6, 6).bfloat16(), randn(4, 16, 3, 3)
    for method in ("shift", "unfold"):
        with pytest.raises(TypeError, match="input is torch.bfloat16 but weight is torch.float32"):
            conv2d(x, w, method=method)
    with pytest.raises(TypeError, match="bias is torch.float64"):
        conv2d(x.float(), w, randn(4).double())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fft_conv2d_takes_half_precision_as_f_conv2d_does(dtype):
    # torch.fft refused these ("Unsupported dtype Half"): the transform runs in float32.
    x, w, b = randn(2, 3, 9, 8, seed=1), randn(4, 3, 3, 2, seed=2), randn(4, seed=3)
    out = fft_conv2d(x.to(dtype), w.to(dtype), b.to(dtype), padding=1)
    expected = F.conv2d(x.to(dtype), w.to(dtype), b.to(dtype), padding=1)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), expected.float(), atol=0.1, rtol=0.02)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fft_conv2d(x.to(dtype), w, b, padding=1)
    assert out.dtype == torch.bfloat16


def test_average_pooling_of_bfloat16_sums_in_float32():
    # 49 values near 100 summed in bfloat16 (8 significant bits) were off by 2.5 on
    # average; PyTorch's kernel accumulates in float32 and is off by its last bit.
    x = (randn(1, 2, 14, 14) * 0.1 + 100).bfloat16()
    exact = F.avg_pool2d(x.double(), 7)
    for ours, theirs in ((pool2d(x, 7, mode="avg"), F.avg_pool2d(x, 7)),
                         (adaptive_avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 2))):
        assert ours.dtype == torch.bfloat16
        assert (ours.double() - exact).abs().max() <= (theirs.double() - exact).abs().max()


def test_adaptive_avg_pool2d_keeps_its_input_dtype_under_autocast():
    # Its matrix products were autocast to bfloat16; F.adaptive_avg_pool2d is not.
    x = randn(2, 3, 7, 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = adaptive_avg_pool2d(x, 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.adaptive_avg_pool2d(x, 3))


def test_the_meta_device_which_has_no_autocast_still_gives_shapes():
    # cnnlab summary counts MACs on the meta device; asking it about autocast raises.
    x = torch.empty(1, 3, 7, 7, device="meta")
    assert conv2d(x, torch.empty(2, 3, 3, 3, device="meta")).shape == (1, 2, 5, 5)
    assert adaptive_avg_pool2d(x, 2).shape == (1, 3, 2, 2)


def test_a_scratch_network_trains_a_step_under_bfloat16_autocast():
    # `cnnlab train resnet18_d2l --scratch-ops on --amp bf16` (bf16 is --amp auto's
    # choice on CUDA) stopped at its first 3x3 conv: the thin stem (unfold, a bmm that
    # autocast runs in bfloat16) handed a bfloat16 input to the shift method.
    from cnnlab.ops import BatchNorm, Conv2d, MaxPool2d
    net = torch.nn.Sequential(Conv2d(1, 16, 3, padding=1), BatchNorm(16), torch.nn.ReLU(),
                              MaxPool2d(2), Conv2d(16, 16, 3, padding=1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(randn(2, 1, 8, 8))
    out.float().square().mean().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in net.parameters())


def test_float64_under_autocast_stays_float64_as_with_f_conv2d():
    # Autocast casts float32 and half types only; ours cast float64 to bfloat16 too.
    x, w = randn(1, 3, 8, 8).double(), randn(4, 3, 3, 3, seed=1).double()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, expected = conv2d(x, w), F.conv2d(x, w)
    assert y.dtype == expected.dtype == torch.float64
    torch.testing.assert_close(y, expected)


def test_the_shift_method_in_bfloat16_is_as_accurate_as_f_conv2d():
    # Its bfloat16 block took the taps one by one, rounding the running sum at each of
    # the 25 taps: 3.5 times F.conv2d's error, which is the final rounding alone.
    x = randn(4, 16, 12, 12, seed=1).bfloat16().requires_grad_()
    w = (randn(16, 16, 5, 5, seed=2) / 20).bfloat16().requires_grad_()
    exact = F.conv2d(x.double(), w.double(), padding=2)
    ours, theirs = conv2d(x, w, padding=2, method="shift"), F.conv2d(x, w, padding=2)
    assert ours.dtype == torch.bfloat16
    assert (ours.double() - exact).abs().mean() <= 1.2 * (theirs.double() - exact).abs().mean()
    ours.float().sum().backward()
    assert x.grad.dtype == w.grad.dtype == torch.bfloat16
