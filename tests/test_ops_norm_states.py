"""BatchNorm's less travelled states against PyTorch's: training without running
statistics, a reset after training, and one running statistic of the two left out.

Written against mutants of cnnlab/ops/norm.py that the rest of the suite let through
(session 34's mutation test); float64, so any mismatch shows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.ops.norm import BatchNorm, batch_norm

TOL = dict(rtol=1e-10, atol=1e-12)


def _x(shape=(4, 3, 5, 6), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 1


def test_training_without_running_statistics_matches_torch():
    # Only evaluation had been tried: a training step counting batches it has no counter
    # for (num_batches_tracked is None) would end on an AttributeError.
    ours = BatchNorm(3, num_dims=4, track_running_stats=False).double()
    ref = nn.BatchNorm2d(3, track_running_stats=False).double()
    for seed in range(2):
        torch.testing.assert_close(ours(_x(seed=seed)), ref(_x(seed=seed)), **TOL)
    assert ours.num_batches_tracked is None and ours.running_mean is None


def test_reset_after_training_gives_a_fresh_torch_batchnorms_state():
    ours = BatchNorm(3, num_dims=4, momentum=None).double()
    with torch.no_grad():
        ours.weight.fill_(2.0)
        ours.bias.fill_(-1.0)
    for seed in range(3):
        ours(_x(seed=seed))
    ours.reset_parameters()
    fresh = nn.BatchNorm2d(3, momentum=None).double().state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, fresh[key]), key
    # The cumulative average starts again from the first batch after a reset.
    ref = nn.BatchNorm2d(3, momentum=None).double()
    torch.testing.assert_close(ours(_x(seed=5)), ref(_x(seed=5)), **TOL)
    torch.testing.assert_close(ours.running_var, ref.running_var, **TOL)


def test_a_running_mean_without_a_running_variance_is_not_tracked():
    # The docstring: None means "not tracked", and evaluation then takes the batch's
    # statistics; a running mean alone must not be used with a variance of None.
    x = _x()
    out = batch_norm(x, torch.zeros(3, dtype=torch.float64), None, training=False)
    torch.testing.assert_close(out, F.batch_norm(x, None, None, training=True), **TOL)
