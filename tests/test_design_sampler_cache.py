"""The log-uniform sampler keeps each grid's cdf between draws (a draw of AnyNetX_A asked
for the same two grids eight times): it must still draw what rng.choice drew, so a seeded
sweep resumed with this code trains the networks it would have trained before."""

import numpy as np
import pytest

from cnnlab.design import spaces as S


@pytest.mark.parametrize("low,high,q", [(1, 16, 1), (8, 256, 8), (8, 1024, 8), (8, 8, 8)])
def test_cached_draws_are_rng_choice_draws(low, high, q):
    values, p = S.log_uniform_pmf(low, high, q)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    ours = [S._log_uniform_int(a, low, high, q) for _ in range(2000)]
    reference = [int(b.choice(values, p=p)) for _ in range(2000)]
    assert ours == reference


def test_the_cached_grid_cannot_be_changed_by_a_caller():
    values, cdf = S._log_uniform_cdf(1, 16, 1)
    with pytest.raises(ValueError):
        values[0] = 99
    # log_uniform_pmf still hands out fresh arrays a caller may change.
    v, p = S.log_uniform_pmf(1, 16, 1)
    v[0] = 99
    assert S.log_uniform_pmf(1, 16, 1)[0][0] == 1
