"""The optimizers and what wraps them (cnnlab/train/optim.py): Muon and its batched
orthogonalisation, lookahead and the weight EMA, each against its definition."""

import pytest
import torch


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_lookahead_pulls_the_weights_back_alpha_of_the_way_every_k_steps(optimizer):
    """Against the definition, applied by hand to a copy trained by a plain optimizer."""
    from cnnlab.train.optim import Lookahead

    def make(weights):
        param = torch.nn.Parameter(weights.clone())
        opt = (torch.optim.SGD([param], lr=0.1, momentum=0.9) if optimizer == "sgd"
               else torch.optim.AdamW([param], lr=0.1))
        return param, opt

    torch.manual_seed(0)
    start = torch.randn(6)
    (live, opt), (by_hand, opt_by_hand) = make(start), make(start)
    lookahead = Lookahead(opt, k=3, alpha=0.4)
    slow = None
    for step in range(1, 11):
        for param, o in ((live, opt), (by_hand, opt_by_hand)):
            param.sin().sum().backward()
            o.step()
        lookahead.step()  # as the trainer calls it: after the step, before zero_grad
        opt.zero_grad()
        opt_by_hand.zero_grad()
        slow = by_hand.detach().clone() if slow is None else slow
        if step % 3 == 0:
            slow = slow + 0.4 * (by_hand.detach() - slow)
            by_hand.data.copy_(slow)
        torch.testing.assert_close(live.detach(), by_hand.detach(), msg=f"step {step}")
        evaluated = slow + 0.4 * (by_hand.detach() - slow)  # where the next sync puts it
        module = torch.nn.Module()
        module.w = live
        target = torch.nn.Module()
        target.w = torch.nn.Parameter(torch.zeros(6))
        lookahead.evaluated_weights(module, target)
        torch.testing.assert_close(target.w.detach(), evaluated, msg=f"step {step}")
    assert opt.param_groups[0]["lookahead_step"] == 10  # in state_dict(): checkpoints keep it
    assert "lookahead_slow" in opt.state_dict()["state"][0]


def test_lookahead_leaves_a_parameter_the_optimizer_has_not_stepped_alone():
    # AdamW takes an empty state for a new parameter: a slow copy put there before its
    # first gradient made its first step fail (KeyError 'exp_avg').
    from cnnlab.train.optim import Lookahead

    used, unused = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([used, unused], lr=0.1)
    lookahead = Lookahead(opt, k=2, alpha=0.5)
    for step in range(4):
        loss = used.square().sum() + (unused.square().sum() if step >= 1 else 0)
        loss.backward()
        opt.step()
        lookahead.step()
        opt.zero_grad()
    assert "exp_avg" in opt.state[unused] and "lookahead_slow" in opt.state[unused]


def test_weight_ema_matches_the_per_tensor_definition():
    """The fused update equals shadow.lerp(live, 1 - d) per float tensor (warmed-up
    decay) and a copy of integer buffers, step after step."""
    from cnnlab.train.optim import WeightEMA

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    ema = WeightEMA(model, decay=0.9)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1, 6):
        model(torch.randn(2, 1, 5, 5)).square().mean().backward()
        opt.step()
        opt.zero_grad()
        ema.update(model)
        d = min(0.9, (1 + step) / (10 + step))
        for k, v in model.state_dict().items():
            expected[k] = expected[k].lerp(v, 1 - d) if v.dtype.is_floating_point else v.clone()
    for k, v in expected.items():
        torch.testing.assert_close(ema.state_dict()[k], v, msg=k)
    assert int(ema.state_dict()["1.num_batches_tracked"]) == 5


def test_orthogonalize_flattens_the_spectrum_and_keeps_the_directions():
    from cnnlab.train.optim import orthogonalize

    torch.manual_seed(0)
    for shape in [(24, 216), (96, 48), (10, 10)]:
        # Singular values spread over three orders of magnitude.
        u, _ = torch.linalg.qr(torch.randn(shape[0], shape[0]))
        v, _ = torch.linalg.qr(torch.randn(shape[1], shape[1]))
        k = min(shape)
        s = torch.logspace(0, -3, k)
        matrix = u[:, :k] @ torch.diag(s) @ v[:, :k].T
        out = orthogonalize(matrix)
        sv = torch.linalg.svdvals(out)
        assert sv.max() < 1.25 and sv[: k // 2].min() > 0.65, shape  # the larger half near 1
        # Same singular directions: U^T out V is (close to) diagonal and positive.
        inner = u[:, :k].T @ out @ v[:, :k]
        assert torch.all(inner.diagonal()[: k // 2] > 0.65)
        off = inner - torch.diag(inner.diagonal())
        assert off.abs().max() < 1e-3, shape



def test_muon_orthogonalizes_filters_and_is_nesterov_sgd_elsewhere():
    """Filters: decoupled decay, then the orthogonalised Nesterov step at muon_lr. The rest:
    exactly torch's Nesterov SGD at lr (checked on a twin whose filters are kept in sync)."""
    import copy

    from cnnlab.train.config import TrainConfig
    from cnnlab.train.optim import Muon, build_optimizer, orthogonalize

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.Flatten(), torch.nn.Linear(128, 4))
    twin = copy.deepcopy(model)
    cfg = TrainConfig(optimizer="muon", lr=0.1, muon_lr=0.05, momentum=0.9, weight_decay=0.01)
    opt = build_optimizer(model, cfg)
    assert isinstance(opt, Muon)
    conv = model[0].weight
    kinds = {id(p): g["orthogonalize"] for g in opt.param_groups for p in g["params"]}
    assert kinds[id(conv)] and not kinds[id(model[3].weight)] and not kinds[id(model[1].bias)]
    reference = torch.optim.SGD(
        [{"params": [twin[3].weight], "weight_decay": 0.01},
         {"params": [twin[1].weight, twin[1].bias, twin[3].bias], "weight_decay": 0.0}],
        lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(4, 3, 6, 6)
    buf = None
    for _ in range(3):
        for net in (model, twin):
            net(x).square().mean().backward()
        grad, before = conv.grad.clone(), conv.detach().clone()
        buf = grad.clone() if buf is None else 0.9 * buf + grad
        opt.step()
        reference.step()
        opt.zero_grad()
        reference.zero_grad()
        twin[0].weight.grad = None
        expected = before * (1 - 0.05 * 0.01) - 0.05 * orthogonalize(
            (grad + 0.9 * buf).reshape(8, -1)).view_as(conv)
        torch.testing.assert_close(conv.detach(), expected)
        twin[0].weight.data.copy_(conv.detach())
        for (name, mine), theirs in zip(model.named_parameters(), twin.parameters(),
                                        strict=True):
            torch.testing.assert_close(mine.detach(), theirs.detach(), msg=name)


def _plain_orthogonalize(matrix, steps=5):
    """Muon's Newton-Schulz iteration written out, one matrix at a time (the spec)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / (x.norm() + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def test_batched_orthogonalization_equals_one_matrix_at_a_time():
    from cnnlab.train.optim import orthogonalize_many

    torch.manual_seed(0)
    shapes = [(16, 72), (16, 72), (72, 16), (16, 144), (8, 8), (16, 72), (3, 40)]
    matrices = [torch.randn(*shape) for shape in shapes]
    for matrix, out in zip(matrices, orthogonalize_many(matrices), strict=True):
        assert out.shape == matrix.shape
        torch.testing.assert_close(out, _plain_orthogonalize(matrix), rtol=1e-4, atol=1e-5)


def test_muons_batched_step_equals_the_per_parameter_rule():
    """Same-shaped filter banks (batched together), a tall one, a wide one, decay and
    momentum over several steps: every parameter as the rule applied one at a time."""
    from cnnlab.train.optim import Muon, muon_groups, parameter_groups

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 12, 3), torch.nn.BatchNorm2d(12), torch.nn.ReLU(),  # tall: 12 x 9
        torch.nn.Conv2d(12, 12, 3), torch.nn.Conv2d(12, 12, 3),  # two of one shape
        torch.nn.Conv2d(12, 20, 1), torch.nn.Flatten(), torch.nn.LazyLinear(3))
    x = torch.randn(5, 1, 10, 10)
    model(x)
    params = dict(model.named_parameters())
    expected = {n: p.detach().clone() for n, p in params.items()}
    buffers: dict[str, torch.Tensor] = {}
    opt = Muon(muon_groups(parameter_groups(model, 0.01), 0.05, 0.1), lr=0.1, momentum=0.9)
    for step in range(4):
        model.zero_grad()
        model(x + step).square().mean().backward()
        for name, p in params.items():  # the rule, parameter by parameter
            grad, w = p.grad.clone(), expected[name]
            filters = p.ndim == 4
            decay = 0.0 if p.ndim == 1 else 0.01
            if filters:
                w.mul_(1 - 0.05 * decay)
            else:
                grad = grad + decay * w
            buffers[name] = grad.clone() if step == 0 else 0.9 * buffers[name] + grad
            update = grad + 0.9 * buffers[name]
            if filters:
                matrix = update.reshape(len(update), -1)
                scale = max(1.0, matrix.shape[0] / matrix.shape[1]) ** 0.5
                w.sub_(0.05 * scale * _plain_orthogonalize(matrix).view_as(p))
            else:
                w.sub_(0.1 * update)
        opt.step()
        for name, p in params.items():
            torch.testing.assert_close(p.detach(), expected[name], rtol=1e-4, atol=1e-5,
                                       msg=f"{name}, step {step}")
        for name, p in params.items():  # carry on from the same point
            expected[name] = p.detach().clone()


def test_muon_scales_a_fine_tuned_backbones_filters_like_its_other_parameters():
    from cnnlab.train.optim import muon_groups

    conv, norm = torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, 4))], "weight_decay": 0.0},
              {"params": [conv.weight, norm.weight], "weight_decay": 0.0, "lr": 0.01}]
    split = muon_groups(groups, muon_lr=0.08, lr=0.1)
    lrs = {id(p): (g.get("lr"), g["orthogonalize"]) for g in split for p in g["params"]}
    assert lrs[id(conv.weight)] == (pytest.approx(0.008), True)  # 0.08 x (0.01 / 0.1)
    assert lrs[id(norm.weight)] == (0.01, False)


def test_muon_has_no_fused_kernel():
    from cnnlab.train.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match="muon has no fused kernel"):
        TrainConfig(optimizer="muon", fused_optimizer=True).validate()


def test_muon_updates_channels_last_filters_in_their_own_layout():
    # Flattened in memory order, a channels_last bank's update is a view and comes back
    # with the parameter's strides (a copy per filter bank before, and no fused add);
    # the orthogonalisation is the same up to float rounding.
    from cnnlab.train.optim import Muon

    torch.manual_seed(0)
    plain = torch.nn.Parameter(torch.randn(48, 24, 3, 3))
    last = torch.nn.Parameter(plain.detach().clone().contiguous(memory_format=torch.channels_last))
    grad = torch.randn(48, 24, 3, 3)
    [u_plain] = Muon._orthogonalized([plain], [grad], 5)
    [u_last] = Muon._orthogonalized([last], [grad.contiguous(memory_format=torch.channels_last)],
                                    5)
    assert u_last.stride() == last.stride() and u_plain.stride() == plain.stride()
    torch.testing.assert_close(u_last, u_plain, atol=2e-6, rtol=0)
