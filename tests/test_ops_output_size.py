"""conv_output_size / pool_output_size under the book's short names (total padding p) and
under conv2d's long ones (padding per side), checked against what PyTorch produces."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops import conv_output_size, pool_output_size


def _torch_conv_width(n, k, **kw):
    return F.conv2d(torch.zeros(1, 1, 1, n), torch.zeros(1, 1, 1, k), **kw).shape[-1]


@pytest.mark.parametrize("kw", [
    {"padding": 2}, {"padding": 1, "stride": 2}, {"padding": 3, "dilation": 2},
    {"padding": "same"}, {"padding": "valid", "stride": 3},
])
def test_conv2d_keywords_mean_what_they_mean_in_conv2d(kw):
    assert conv_output_size(28, kernel_size=5, **kw) == _torch_conv_width(28, 5, **kw)
    assert conv_output_size(28, k=5, **kw) == _torch_conv_width(28, 5, **kw)


def test_the_books_p_stays_the_total_padding():
    assert conv_output_size(28, 5, 2) == 26  # p_h = 2 in all: one row each side
    assert conv_output_size(28, 5, 4) == conv_output_size(28, 5, padding=2) == 28


def test_pool_output_size_takes_the_same_keywords():
    got = pool_output_size(28, kernel_size=3, stride=2, padding=1, ceil_mode=True)
    want = F.max_pool2d(torch.zeros(1, 1, 28, 28), 3, 2, 1, ceil_mode=True).shape[-1]
    assert got == want == pool_output_size(28, 3, 2, 2, ceil_mode=True)


def test_pool_output_size_strides_by_the_window_as_the_pool_does():
    # It took conv_output_size's stride of 1: 27 where pool2d(x, 2) gives 14.
    from cnnlab.ops import pool2d

    x = torch.zeros(1, 1, 28, 28)
    assert pool_output_size(28, 2) == 14 and pool_output_size(28, kernel_size=3) == 9
    assert pool2d(x, 2).shape[-1] == F.max_pool2d(x, 2).shape[-1] == 14
    assert pool_output_size(28, 2, s=1) == pool_output_size(28, 2, stride=1) == 27


@pytest.mark.parametrize("call, words", [
    (lambda: conv_output_size(28, 5, 2, padding=2), "both p=2 and padding=2; give one"),
    (lambda: conv_output_size(28, 5, s=2, stride=3), "both s=2 and stride=3"),
    (lambda: conv_output_size(28, padding=2), r"needs the kernel length: k \(or kernel_size\)"),
    (lambda: conv_output_size(28, 5, padding=1.5), "zeros on each side, an int or 'same'"),
    # A float kernel or length gave a float (24.0), as if a length could be one.
    (lambda: conv_output_size(28, 5.0), "k must be a whole number, got 5.0"),
    (lambda: conv_output_size(28.5, 5), "n must be a whole number, got 28.5"),
])
def test_mixed_or_missing_arguments_are_clear_errors(call, words):
    with pytest.raises(TypeError, match=words):
        call()


def test_same_padding_with_a_stride_is_refused_as_conv2d_refuses_it():
    # It said 14, for a convolution conv2d and F.conv2d will not run.
    with pytest.raises(ValueError, match="padding='same' needs stride 1, got stride 2"):
        conv_output_size(28, kernel_size=4, padding="same", stride=2)
