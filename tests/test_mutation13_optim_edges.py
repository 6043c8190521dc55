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
