"""The from-scratch batch norm against PyTorch's, in float64 so any mismatch shows."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.ops.norm import BatchNorm, batch_norm

TOL = dict(rtol=1e-10, atol=1e-12)
SHAPES = {"linear (N, C)": (8, 5), "conv (N, C, H, W)": (4, 3, 5, 6), "seq (N, C, L)": (4, 3, 7)}


def _inputs(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1.5).requires_grad_()
    gamma = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).requires_grad_()
    beta = torch.randn(c, generator=g, dtype=torch.float64).requires_grad_()
    return x, gamma, beta


def _fresh_stats(c):
    return torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("training", [True, False])
def test_functional_matches_torch_forward_backward_and_running_stats(shape, training):
    x, gamma, beta = _inputs(shape)
    c = shape[1]
    ours_mean, ours_var = _fresh_stats(c)
    ref_mean, ref_var = _fresh_stats(c)
    # Non-trivial running stats so evaluation mode is exercised for real.
    for t in (ours_mean, ref_mean):
        t.copy_(torch.linspace(-1, 1, c, dtype=torch.float64))
    for t in (ours_var, ref_var):
        t.copy_(torch.linspace(0.5, 2, c, dtype=torch.float64))

    y = batch_norm(x, ours_mean, ours_var, gamma, beta, training, momentum=0.3, eps=1e-5)
    y_ref = F.batch_norm(x, ref_mean, ref_var, gamma, beta, training, momentum=0.3, eps=1e-5)
    torch.testing.assert_close(y, y_ref, **TOL)

    upstream = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, gamma, beta), upstream)
    grads_ref = torch.autograd.grad(y_ref, (x, gamma, beta), upstream)
    for ours, ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(ours, ref, **TOL)

    # In training the running variance takes the unbiased batch variance.
    torch.testing.assert_close(ours_mean, ref_mean, **TOL)
    torch.testing.assert_close(ours_var, ref_var, **TOL)


def test_functional_running_var_is_unbiased_and_normalisation_biased():
    x = torch.tensor([[1.0], [2.0], [3.0], [6.0]], dtype=torch.float64)  # one channel
    mean, var = _fresh_stats(1)
    y = batch_norm(x, mean, var, training=True, momentum=1.0, eps=1e-12)
    assert mean.item() == pytest.approx(3.0)
    assert var.item() == pytest.approx(14 / 3)  # sum of squares 14 over n - 1 = 3
    assert y.pow(2).mean().item() == pytest.approx(1.0)  # divided by the biased std


def test_functional_without_running_stats_uses_batch_stats_in_eval():
    x, gamma, beta = _inputs((6, 4))
    y = batch_norm(x, None, None, gamma, beta, training=False)
    y_ref = F.batch_norm(x, None, None, gamma, beta, training=True)
    torch.testing.assert_close(y, y_ref, **TOL)


def test_functional_rejects_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm(torch.randn(1, 3), None, None, training=True)


def test_an_empty_batch_in_training_passes_through_as_in_torch():
    # It was refused ("use a batch of at least 2"); torch returns it, statistics untouched.
    ours, theirs = BatchNorm(3), nn.BatchNorm2d(3)
    x = torch.randn(0, 3, 4, 4)
    assert ours(x).shape == theirs(x).shape == (0, 3, 4, 4)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value)
    assert torch.equal(ours.running_mean, torch.zeros(3))  # not NaN
    ours(x).sum().backward()  # the weights get zero gradients, not none (DDP wants them)
    theirs(x).sum().backward()
    assert torch.equal(ours.weight.grad, theirs.weight.grad) and \
        torch.equal(ours.bias.grad, torch.zeros(3))


def test_functional_takes_torch_argument_order_positionally():
    # Code written for F.batch_norm, positional arguments and all, gives the same numbers.
    x, gamma, beta = _inputs((4, 3, 5, 6))
    ours_mean, ours_var = _fresh_stats(3)
    ref_mean, ref_var = _fresh_stats(3)
    y = batch_norm(x, ours_mean, ours_var, gamma, beta, True, 0.2, 1e-3)
    y_ref = F.batch_norm(x, ref_mean, ref_var, gamma, beta, True, 0.2, 1e-3)
    torch.testing.assert_close(y, y_ref, **TOL)
    torch.testing.assert_close(ours_mean, ref_mean, **TOL)
    torch.testing.assert_close(ours_var, ref_var, **TOL)
    # The defaults are F's too: evaluation mode, no affine transform.
    eval_y = batch_norm(x, ours_mean, ours_var)
    torch.testing.assert_close(eval_y, F.batch_norm(x, ref_mean, ref_var), **TOL)


def test_functional_refuses_the_books_argument_order():
    # d2l: batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum), with
    # gamma and beta learnable; eps would land in training, gamma in running_mean.
    x, gamma, beta = _inputs((4, 3, 5, 6))
    moving_mean, moving_var = _fresh_stats(3)
    with pytest.raises(TypeError, match=r"F\.batch_norm's order"):
        batch_norm(x, gamma, beta, moving_mean, moving_var, 1e-5, 0.1)
    plain_gamma, plain_beta = gamma.detach(), beta.detach()
    with pytest.raises(TypeError, match=r"training must be True or False, got 1e-05"):
        batch_norm(x, plain_gamma, plain_beta, moving_mean, moving_var, 1e-5, 0.1)


def test_functional_refuses_gamma_and_beta_in_place_of_running_stats():
    # cnnlab's earlier order, (x, gamma, beta, running_mean, running_var, training).
    x, gamma, beta = _inputs((8, 5))
    mean, var = _fresh_stats(5)
    with pytest.raises(TypeError, match="looks like a learnable gamma or beta"):
        batch_norm(x, gamma, beta, mean, var, True)


def test_functional_names_a_per_channel_tensor_of_the_wrong_size():
    x, _, _ = _inputs((4, 3, 5, 6))
    mean, var = _fresh_stats(4)
    with pytest.raises(ValueError, match=r"running_mean has 4 values .* input has 3 channels"):
        batch_norm(x, mean, var, training=True)


def _pair(reference_cls, num_dims, **kw):
    torch.manual_seed(0)
    ref = reference_cls(3, **kw).double()
    ours = BatchNorm(3, num_dims=num_dims, **kw).double()
    if ref.affine:  # non-default affine parameters, identical in both
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-1, 1)
        ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize(
    "reference_cls, num_dims, shape",
    [
        (nn.BatchNorm2d, 4, (4, 3, 5, 5)),
        (nn.BatchNorm1d, 2, (6, 3)),
        (nn.BatchNorm2d, None, (4, 3, 2, 3)),
    ],
)
@pytest.mark.parametrize(
    "options",
    [{}, {"momentum": None}, {"momentum": 0.3, "eps": 1e-3}, {"affine": False}],
    ids=["defaults", "cumulative", "momentum-eps", "no-affine"],
)
def test_module_is_a_drop_in_for_torch_batchnorm(reference_cls, num_dims, shape, options):
    ours, ref = _pair(reference_cls, num_dims, **options)
    g = torch.Generator().manual_seed(1)
    for step in range(4):  # several training steps: running statistics must agree
        x = torch.randn(shape, generator=g, dtype=torch.float64) * (step + 1) + step
        torch.testing.assert_close(ours(x), ref(x), **TOL)
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, **TOL)

    ours.eval()
    ref.eval()
    x = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y, y_ref, **TOL)
    torch.testing.assert_close(*(torch.autograd.grad(o.sum(), x)[0] for o in (y, y_ref)), **TOL)
    assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == 4


def test_module_without_running_stats_matches_torch():
    ours, ref = _pair(nn.BatchNorm2d, 4, track_running_stats=False)
    assert ours.running_mean is None and ours.num_batches_tracked is None
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    ours.eval()
    ref.eval()
    torch.testing.assert_close(ours(x), ref(x), **TOL)


def test_state_dict_loads_both_ways_with_identical_keys():
    trained = nn.BatchNorm2d(5)
    trained(torch.randn(8, 5, 3, 3))  # non-default running stats
    ours = BatchNorm(5, num_dims=4)
    assert list(ours.state_dict()) == list(trained.state_dict())
    ours.load_state_dict(trained.state_dict())  # strict
    back = nn.BatchNorm1d(5)
    back.load_state_dict(ours.state_dict())  # and back, into a 1-D BatchNorm too
    for key, value in trained.state_dict().items():
        assert torch.equal(back.state_dict()[key], value)


def test_module_checks_rank_and_channels_with_clear_errors():
    with pytest.raises(ValueError, match=r"num_dims=4.*\(N, C, H, W\)"):
        BatchNorm(3, num_dims=4)(torch.randn(4, 3))
    with pytest.raises(ValueError, match="3 channels"):
        BatchNorm(3)(torch.randn(4, 5, 2, 2))
    with pytest.raises(ValueError, match="num_dims must be"):
        BatchNorm(3, num_dims=3)


def test_module_trains_under_no_grad_with_batch_statistics():
    # The book switches on torch.is_grad_enabled(); we switch on .training, like PyTorch.
    bn = BatchNorm(2, num_dims=2)
    with torch.no_grad():
        y = bn(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))
    torch.testing.assert_close(y.abs(), torch.ones(2, 2), rtol=1e-4, atol=1e-4)
    assert bn.num_batches_tracked.item() == 1


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_keeps_its_dtype_with_float32_statistics(dtype):
    # A float16 input came out float32 (promoted by the float32 buffers); torch's is float16.
    ours, theirs = BatchNorm(3), nn.BatchNorm2d(3)
    x = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(0)).to(dtype)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        y = ours(x)
        assert y.dtype == dtype, mode
        torch.testing.assert_close(y, theirs(x))
    torch.testing.assert_close(ours.running_var, theirs.running_var)


@pytest.mark.parametrize("eps, training", [(0.0, True), (-1e-3, True), (-1e-3, False)])
def test_functional_refuses_the_eps_torch_refuses(eps, training):
    x = torch.zeros(4, 3, 2, 2)  # a constant channel: eps 0 would give 0/0
    with pytest.raises(ValueError, match="batch_norm eps must be") as ours:
        batch_norm(x, torch.zeros(3), torch.ones(3), training=training, eps=eps)
    try:  # newer torch refuses it in the same words; torch 2.4 took it (and gave NaN)
        F.batch_norm(x, torch.zeros(3), torch.ones(3), None, None, training, 0.1, eps)
    except ValueError as torchs:
        assert str(ours.value).split(",")[0] == str(torchs).split(",")[0]
