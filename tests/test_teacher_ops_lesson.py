"""What a lesson on the from-scratch ops shows: the book's multi-channel loops on the
arrays its readers hold, and converted layers printing as the torch layers they replace."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.ops import AvgPool2d, MaxPool2d, Pool2d, corr2d_multi_in, corr2d_multi_in_out
from cnnlab.ops.modules import scratch_equivalent

# The book's two-channel example (7.4.1) and its three stacked kernels (7.4.2).
X = [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
     [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
K = [[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]]


def test_multi_channel_loops_take_numpy_arrays_and_lists_as_corr2d_does():
    assert corr2d_multi_in(np.array(X), np.array(K)).tolist() == [[56.0, 72.0], [104.0, 120.0]]
    assert corr2d_multi_in(X, K).tolist() == [[56.0, 72.0], [104.0, 120.0]]
    K3 = np.stack([np.array(K) + i for i in range(3)])
    out = corr2d_multi_in_out(np.array(X), K3)
    assert out.shape == (3, 2, 2)
    assert out[2].tolist() == [[96.0, 128.0], [192.0, 224.0]]
    assert corr2d_multi_in_out(X, K3.tolist()).tolist() == out.tolist()


def test_multi_in_out_given_one_output_channels_kernel_says_so_in_its_own_name():
    with pytest.raises(ValueError, match=r"corr2d_multi_in_out takes .*\(2, 2, 2\).*"
                                         r"corr2d_multi_in\(X, K\)"):
        corr2d_multi_in_out(torch.tensor(X), torch.tensor(K))
    with pytest.raises(ValueError, match="same C_in"):
        corr2d_multi_in_out(torch.tensor(X), torch.ones(3, 4, 2, 2))


@pytest.mark.parametrize("torch_pool", [
    nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.AvgPool2d(2),
    nn.AvgPool2d(3, 1, 1),
])
def test_a_converted_pool_prints_as_torchs_but_for_the_mark(torch_pool):
    assert repr(scratch_equivalent(torch_pool)) == "scratch " + repr(torch_pool)


def test_pool_layers_keep_their_stride_and_name_what_nn_would_hide():
    assert MaxPool2d(2).stride == 2  # printed "stride=None", where nn's prints 2
    assert repr(MaxPool2d(2)) == "scratch " + repr(nn.MaxPool2d(2))
    avg = AvgPool2d(3, 1, 1, ceil_mode=True, count_include_pad=False)
    assert "count_include_pad=False" in repr(avg) and "dilation" not in repr(avg)
    assert "ceil_mode=True" in repr(avg)
    assert repr(Pool2d(2, mode="avg")).startswith("scratch Pool2d(mode='avg', kernel_size=2")
    x = torch.randn(1, 2, 6, 6)
    torch.testing.assert_close(MaxPool2d(2)(x), nn.MaxPool2d(2)(x))
