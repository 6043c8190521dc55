"""MaxPool2x2 (cnnlab/ops/fast_pool.py) on what its other tests left open.

Each test here kills a hand-made mutant of fast_pool.py that the rest of the suite let
through (session 34's mutation test): a NaN in one window changing the gradient of the
others, and an odd width, which must take PyTorch's own path as an odd height does. And a bug
found beside them: MaxPool2x2 could not be scripted (now it scripts as nn.MaxPool2d's own
forward, as its docstring says). A traced pool
must record torch's max_pool2d (it ran the strided maxima, which fail on an odd size).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab.ops.fast_pool import MaxPool2x2


def _grads_of_both(x: torch.Tensor):
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, expected = MaxPool2x2()(ours), F.max_pool2d(theirs, 2, 2)
    upstream = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1))
    y.backward(upstream)
    expected.backward(upstream)
    return y, expected, ours.grad, theirs.grad


def test_a_nan_in_one_window_leaves_the_other_windows_gradients_as_torchs():
    # The existing NaN test has a NaN in every window. Routing a NaN window's gradient
    # must add to the masks of the windows without one, not replace them: with one NaN
    # in the batch, every other window's gradient had been lost.
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 3, 6, 8, generator=g) * 2).round()  # ties too
    x[0, 1, 2, 3] = x[1, 2, 5, 0] = float("nan")
    y, expected, ours, theirs = _grads_of_both(x)
    assert torch.equal(y.isnan(), expected.isnan())
    assert torch.equal(y.nan_to_num(), expected.nan_to_num())
    assert (ours != 0).sum() == y.numel()  # one pixel of each window takes its gradient
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("shape", [(2, 3, 8, 7), (1, 1, 6, 3), (3, 2, 5, 9)])
def test_an_odd_width_pools_as_torch_drops_the_last_column(shape):
    # Only an odd height was tested; an odd width reached the strided view of the fast
    # path, which needs whole 2 x 2 windows ("shape is invalid for input of size").
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    y, expected, ours, theirs = _grads_of_both(x)
    assert torch.equal(y, expected) and torch.equal(ours, theirs)
    with torch.no_grad():
        assert torch.equal(MaxPool2x2()(x), expected)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_it_scripts_as_nn_maxpool2d_does():
    # The docstring sends scripting to nn.MaxPool2d's own forward (traced() checks
    # is_scripting), but torch.jit.script(MaxPool2x2()) failed: "Python builtin <built-in
    # method apply of FunctionMeta object> is currently not supported in Torchscript".
    scripted = torch.jit.script(MaxPool2x2())
    x = torch.randn(2, 3, 8, 7, generator=torch.Generator().manual_seed(3))
    assert torch.equal(scripted(x), F.max_pool2d(x, 2, 2))


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_a_traced_pool_runs_on_other_sizes_as_a_traced_nn_maxpool2d():
    # Under tracing it must record PyTorch's max_pool2d, not the strided maxima of the
    # size it was traced at: those failed on an odd size ("shape ... is invalid").
    traced = torch.jit.trace(MaxPool2x2(), torch.randn(1, 2, 8, 8))
    x = torch.randn(2, 2, 7, 9, generator=torch.Generator().manual_seed(4))
    assert torch.equal(traced(x), F.max_pool2d(x, 2, 2))
