"""Edges of the optimizer helpers that no other test reached (mutation13)."""
import pytest
import torch

from cnnlab.train.optim import Lookahead


def _sgd(start):
    param = torch.nn.Parameter(start.clone())
    return param, torch.optim.SGD([param], lr=0.1, momentum=0.9)


def test_lookahead_alpha_one_is_accepted_and_is_the_plain_optimizer():
    # alpha = 1 is the upper end of the documented (0, 1]: the slow weights jump all the
    # way to the fast ones, so training and the evaluated weights are plain SGD's
    torch.manual_seed(0)
    start = torch.randn(5)
    (live, opt), (plain, opt_plain) = _sgd(start), _sgd(start)
    lookahead = Lookahead(opt, k=2, alpha=1.0)
    for _ in range(5):
        for param, o in ((live, opt), (plain, opt_plain)):
            param.sin().sum().backward()
            o.step()
        lookahead.step()
        opt.zero_grad()
        opt_plain.zero_grad()
    assert torch.equal(live.detach(), plain.detach())
    model = torch.nn.Module()
    model.w = live
    assert torch.equal(lookahead.evaluated_weights(model, model).w.detach(), plain.detach())


@pytest.mark.parametrize(("k", "alpha"), [(0, 0.5), (1, 0.0), (1, 1.0000001), (1, -0.5)])
def test_lookahead_refuses_k_and_alpha_outside_their_range(k, alpha):
    _, opt = _sgd(torch.zeros(2))
    with pytest.raises(ValueError, match=r"k >= 1 and 0 < alpha <= 1"):
        Lookahead(opt, k=k, alpha=alpha)


def test_a_loaded_weight_ema_continues_its_warm_up_from_the_updates_given():
    # A resumed run's EMA goes on at update 21 with decay (1 + 21) / (10 + 21), not back
    # at the first update's 2/11, which would pull it almost all the way to the live weights
    from cnnlab.train.optim import WeightEMA

    model = torch.nn.Linear(3, 2)
    saved = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    ema = WeightEMA(model, decay=0.999)
    ema.load_state_dict(saved, updates=20)
    ema.update(model)
    d = (1 + 21) / (10 + 21)
    assert ema.updates == 21
    for k, live in model.state_dict().items():
        torch.testing.assert_close(ema.state_dict()[k], (1 - d) * live, msg=k)


@pytest.mark.parametrize(("epochs", "steps", "count"), [(0.25, 15, 4), (0.2, 15, 3),
                                                        (0.1, 5, 2), (0.0, 100, 0)])
def test_a_warm_up_is_rounded_to_the_nearest_whole_step_and_at_least_two(epochs, steps,
                                                                          count):
    from cnnlab.train.lr_plan import warmup_step_count

    assert warmup_step_count(epochs, steps) == count  # 3.75 -> 4, 3.0 -> 3, 0.5 -> 2
