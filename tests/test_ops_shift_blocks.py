"""conv2d's "shift" method (cnnlab/ops/shift.py) on what its other tests left open.

Each test here kills a hand-made mutant of shift.py that the rest of the suite let
through (session 34's mutation test): a one-channel input, which is channels-last and
contiguous at once, and a block of grid rows that runs past the end of the last image.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from op_helpers import assert_same_op, rand

import cnnlab.ops.shift as shift_module
from cnnlab.ops import conv2d


@pytest.mark.parametrize("x_shape, w_shape", [((2, 1, 9, 7), (4, 1, 3, 3)),
                                              ((1, 1, 5, 6), (3, 1, 2, 3))])
def test_a_one_channel_input_gives_a_contiguous_output_as_f_conv2d(x_shape, w_shape):
    # A (N, 1, H, W) tensor, the first layer's input on Fashion-MNIST, passes both
    # is_contiguous checks; only a real channels-last one (not NCHW-contiguous) must give
    # a channels-last output. Taking it as channels-last made the output non-contiguous,
    # so a later .view() failed where F.conv2d's worked.
    x, w = rand(*x_shape, seed=1), rand(*w_shape, seed=2)
    assert x.is_contiguous(memory_format=torch.channels_last)  # the ambiguity tested
    ours, theirs = conv2d(x, w, padding=1, method="shift"), F.conv2d(x, w, padding=1)
    assert ours.is_contiguous() and ours.stride() == theirs.stride()
    torch.testing.assert_close(ours.view(x.shape[0], -1), theirs.view(x.shape[0], -1))


def test_row_blocks_of_every_height_match_f_conv2d(monkeypatch):
    # Large images are walked in blocks of grid rows. A block starting near the bottom
    # of the last image runs past the buffer's end unless it is clipped to the image;
    # a block of every height from 1 row to the whole image is tried here (two images,
    # so the first one's overrun reads into the second). The block size is set through
    # BLOCK_ELEMENTS, which the plan divides by the thread count and channel width.
    x, w, b = rand(2, 2, 12, 11, seed=4), rand(3, 2, 3, 2, seed=5), rand(3, seed=6)
    hq, wq, width = 12, 11, 2 + 3  # grid rows and columns (no padding, stride 1), c_in + c_out
    threads = torch.get_num_threads()
    for grid_rows in range(1, hq + 1):
        target = grid_rows * wq  # one image per block, this many grid rows
        monkeypatch.setattr(shift_module, "BLOCK_ELEMENTS", -(-target * width // threads))
        assert_same_op(lambda *t: conv2d(*t, method="shift"), F.conv2d, x, w, b)
