"""MaxPool2x2: PyTorch's 2 x 2 max pooling, bit for bit, by a faster CPU path."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.ops import convert_to_scratch
from cnnlab.ops.fast_pool import MaxPool2x2


def _tied(shape, seed=0):
    """Small integers after a ReLU: many windows tie (all zeros, or equal maxima)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 2).round().relu()


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 6, 28, 28), (1, 1, 2, 6)])
def test_values_and_gradients_are_torchs_bit_for_bit(shape):
    x = _tied(shape)
    assert (x == 0).float().mean() > 0.3  # ties are what is being tested
    g = torch.randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    y = MaxPool2x2()(ours)
    y.backward(g)
    expected = F.max_pool2d(theirs, 2, 2)
    expected.backward(g)
    assert torch.equal(y, expected)
    # The first maximum of a window takes the whole gradient, as in PyTorch's kernel.
    assert torch.equal(ours.grad, theirs.grad)


def test_a_window_holding_nan_sends_its_gradient_where_torch_does():
    # PyTorch takes a pixel when value > max or isnan(value): the window's last NaN.
    nan = float("nan")
    windows = [[1, nan, nan, 0], [nan, 5, 2, nan], [1, nan, 3, 2], [nan, nan, nan, nan]]
    x = torch.tensor(windows).view(1, 4, 2, 2).repeat(2, 1, 1, 2)  # 2 windows per map
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    MaxPool2x2()(ours).sum().backward()
    F.max_pool2d(theirs, 2, 2).sum().backward()
    assert torch.equal(ours.grad, theirs.grad)


def test_no_grad_forward_is_torchs():
    x = torch.randn(3, 4, 10, 12)
    with torch.no_grad():
        assert torch.equal(MaxPool2x2()(x), F.max_pool2d(x, 2, 2))


@pytest.mark.parametrize("x", [
    torch.randn(2, 3, 7, 8),  # odd height: PyTorch drops the last row
    torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last),
    torch.randn(3, 8, 8),  # unbatched
])
def test_other_inputs_take_torchs_own_path(x, monkeypatch):
    import cnnlab.ops.fast_pool as fast_pool

    calls, torchs = [], F.max_pool2d
    monkeypatch.setattr(fast_pool.F, "max_pool2d",
                        lambda *a, **k: calls.append(a) or torchs(*a, **k))
    x = x.requires_grad_()
    y = MaxPool2x2()(x)
    assert len(calls) == 1  # PyTorch's kernel, not the strided maxima
    assert torch.equal(y, torchs(x.detach(), 2, 2))
    y.sum().backward()  # nn.MaxPool2d's gradient


def test_it_is_an_nn_maxpool2d_for_code_that_asks():
    pool = MaxPool2x2()
    assert isinstance(pool, nn.MaxPool2d)
    assert (pool.kernel_size, pool.stride, pool.padding) == (2, 2, 0)
    assert pool.state_dict() == {}


def test_lenet_modern_trains_as_with_nn_maxpool2d():
    from cnnlab.models import get_model

    torch.manual_seed(0)
    model = get_model("lenet_modern")
    assert any(isinstance(m, MaxPool2x2) for m in model.modules())
    plain = copy.deepcopy(model)
    for seq in (plain.features,):
        for i, m in enumerate(seq):
            if isinstance(m, MaxPool2x2):
                seq[i] = nn.MaxPool2d(2, 2)
    x, y = _tied((16, 1, 28, 28), seed=1), torch.arange(16) % 10
    for net in (model, plain):
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    for (name, a), b in zip(model.state_dict().items(), plain.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_convert_to_scratch_swaps_it():
    from cnnlab.ops.modules import MaxPool2d

    model = convert_to_scratch(nn.Sequential(MaxPool2x2()), strict=True)
    assert type(model[0]) is MaxPool2d


def test_an_inplace_relu_after_it_a_second_derivative_and_torch_func_work_as_with_torchs():
    # It saved its own output: an in-place ReLU after it broke the backward ("modified by
    # an inplace operation"), and its gradient could not be differentiated again.
    x = _tied((2, 3, 6, 6), seed=2) - 0.5
    for pool in (MaxPool2x2(), nn.MaxPool2d(2, 2)):
        xi = x.clone().requires_grad_()
        nn.ReLU(inplace=True)(pool(xi)).sum().backward()
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    grads = []
    for xi, pool in ((ours, MaxPool2x2()), (theirs, nn.MaxPool2d(2, 2))):
        (g,) = torch.autograd.grad((pool(xi) ** 2).sum(), xi, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), xi)
        grads.append((g, gg))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
    func_grad = torch.func.grad(lambda t: MaxPool2x2()(t).sum())(x)
    assert torch.equal(func_grad, torch.func.grad(lambda t: F.max_pool2d(t, 2, 2).sum())(x))
