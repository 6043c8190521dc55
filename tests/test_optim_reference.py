"""cnnlab's optimizers against references: SGD, Nesterov and AdamW step for step as
torch's own on hand-built parameter groups (weight decay on conv and linear weights
only), and Muon's Newton-Schulz iteration against the polar factor from an SVD."""

import copy

import pytest
import torch

from cnnlab.train.config import TrainConfig
from cnnlab.train.optim import build_optimizer, orthogonalize


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 6, 3), torch.nn.BatchNorm2d(6),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(6 * 16, 5))


def hand_groups(net: torch.nn.Module, decay: float) -> list[dict]:
    """What the README promises: decay on the conv and linear weights, never on a norm's
    scale and shift or a bias."""
    conv, norm, linear = net[0], net[1], net[4]
    return [{"params": [conv.weight, linear.weight], "weight_decay": decay},
            {"params": [conv.bias, norm.weight, norm.bias, linear.bias], "weight_decay": 0.0}]


@pytest.mark.parametrize("optimizer, momentum, reference", [
    ("sgd", 0.0, lambda g: torch.optim.SGD(g, lr=0.05)),
    ("sgd", 0.8, lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.8)),
    ("nesterov", 0.0, lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, nesterov=True)),
    ("nesterov", 0.7, lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.7, nesterov=True)),
    ("adamw", 0.0, lambda g: torch.optim.AdamW(g, lr=0.05)),
])
def test_each_optimizer_steps_as_torchs_on_the_groups_the_readme_names(optimizer, momentum,
                                                                       reference):
    net = small_net()
    twin = copy.deepcopy(net)
    ours = build_optimizer(net, TrainConfig(optimizer=optimizer, lr=0.05, momentum=momentum,
                                            weight_decay=0.01))
    theirs = reference(hand_groups(twin, 0.01))
    x = torch.randn(8, 2, 6, 6)
    for step in range(6):
        for model, opt in ((net, ours), (twin, theirs)):
            opt.zero_grad()
            model(x + step).logsumexp(dim=1).mean().backward()
            opt.step()
        for (name, mine), other in zip(net.named_parameters(), twin.parameters(),
                                       strict=True):
            torch.testing.assert_close(mine, other, atol=1e-6, rtol=0,
                                       msg=f"{name} after step {step + 1}")
    assert [g["weight_decay"] for g in ours.param_groups] == [0.01, 0.0]
    decayed = {id(p) for p in ours.param_groups[0]["params"]}
    assert decayed == {id(net[0].weight), id(net[4].weight)}


def singular_value_map(values: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """Where the Newton-Schulz iteration sends each singular value of the normalised
    matrix (the same quintic, applied to numbers)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = values.double()
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


@pytest.mark.parametrize("shape", [(64, 3 * 9), (32, 32 * 9), (128, 64), (16, 16)])
def test_newton_schulz_is_the_polar_factor_to_the_tolerance_its_coefficients_promise(shape):
    # A filter bank's update, flattened as Muon flattens it (out, in x kernel area), with
    # singular values spread over two orders of magnitude.
    torch.manual_seed(1)
    rows, cols = shape
    k = min(shape)
    u, _ = torch.linalg.qr(torch.randn(rows, k, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(cols, k, dtype=torch.float64))
    s = torch.logspace(0, -2, k, dtype=torch.float64)
    matrix = (u * s) @ v.T
    out = orthogonalize(matrix.float()).double()
    # The iteration keeps the singular vectors and maps each singular value s/|M|_F on its
    # own: out = U f(s/|M|_F) V^T.
    mapped = singular_value_map(s / torch.linalg.matrix_norm(matrix))
    torch.testing.assert_close(out, (u * mapped) @ v.T, atol=2e-4, rtol=0)
    # The coefficients' promise: every singular value from 0.0015 |M|_F up lands in
    # [0.68, 1.21] (not 1 itself: speed over exactness). Here all of them do, so the
    # result stands within 0.32 of the polar factor U V^T in spectral norm.
    assert bool((s / torch.linalg.matrix_norm(matrix) > 0.0015).all())
    assert 0.68 <= float(mapped.min()) and float(mapped.max()) <= 1.21
    polar = u @ v.T
    assert float(torch.linalg.matrix_norm(out - polar, ord=2)) < 0.33
