"""EDF checks a manual mutation test (helper mutation10, session 37) found missing: the
normalised comparison when the spaces share only some bins, computed here by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cnnlab.design.edf import compare_normalized, shared_bins_weights


def _weighted_cdf(errors, weights, points):
    # F(e) = sum of the weights of errors <= e: a plain loop, the readable reference.
    return np.array([sum(w for x, w in zip(errors, weights, strict=True) if x <= p)
                     for p in points])


def test_partly_shared_bins_each_weigh_one_kth_of_the_shared_ones():
    # Edges 1, 2, 4, 8: A holds bins 0, 0, 1, 2; B holds 0, 1, 1. Shared: bins 0 and 1
    # (k = 2), so A's two bin-0 models get 1/4, its bin-1 one 1/2, its bin-2 one 0.
    (wa, wb), shared = shared_bins_weights([[1.5, 1.5, 3.0, 5.0], [1.2, 3.0, 3.5]],
                                           [1.0, 2.0, 4.0, 8.0])
    assert shared == 2
    np.testing.assert_allclose(wa, [1 / 4, 1 / 4, 1 / 2, 0.0])
    np.testing.assert_allclose(wb, [1 / 2, 1 / 4, 1 / 4])


def test_normalised_d_over_partly_shared_bins_matches_a_hand_computation():
    # Two bins of equal log width over 1..100 (edges 1, 10, 100) and a third space-only
    # region: A has models in both bins, B only in the first, so one bin is shared and
    # each space's first-bin models share weight 1 there; A's second-bin models are out.
    ca, ea = [1.0, 2.0, 3.0, 50.0, 100.0], [10.0, 20.0, 30.0, 5.0, 6.0]
    cb, eb = [1.5, 2.5, 1.0], [15.0, 25.0, 35.0]
    got = compare_normalized(ea, ca, eb, cb, bins=2, permutations=30)
    assert (got.shared_bins, got.bins, got.compared_a, got.compared_b) == (1, 2, 3, 3)
    ka, kb = [e for e, c in zip(ea, ca, strict=True) if c < 10], eb
    points = np.r_[ka, kb]
    diff = (_weighted_cdf(ka, [1 / 3] * 3, points) - _weighted_cdf(kb, [1 / 3] * 3, points))
    assert got.a_ahead == pytest.approx(max(0.0, diff.max()))  # 1/3: A's 10 before B's 15
    assert got.b_ahead == pytest.approx(max(0.0, -diff.min()))
    assert got.statistic == pytest.approx(1 / 3)


def _plain_d(a, b):
    return max(abs(np.mean(np.asarray(a) <= p) - np.mean(np.asarray(b) <= p)) for p in a + b)


def test_chance_gap_is_the_95th_percentile_not_a_lower_one():
    # One bin (every model 5 MACs), 5 against 5 distinct errors: of the 252 relabellings
    # 92% have D <= 0.6 and 99% D <= 0.8, so the 95th percentile is 0.8 and the 90th 0.6
    # (the round-4 data set has both at one value, so it cannot tell them apart).
    pooled = [float(e) for e in range(10)]
    nulls = np.array([_plain_d([pooled[i] for i in pick],
                               [pooled[i] for i in range(10) if i not in pick])
                      for pick in itertools.combinations(range(10), 5)])
    assert np.quantile(nulls, 0.95, method="inverted_cdf") == pytest.approx(0.8)
    a, b = [0.0, 1.0, 2.0, 5.0, 7.0], [3.0, 4.0, 6.0, 8.0, 9.0]
    got = compare_normalized(a, [5.0] * 5, b, [5.0] * 5, permutations=20000, seed=2)
    assert got.chance_gap == pytest.approx(0.8)
    assert got.pvalue == pytest.approx(np.mean(nulls >= _plain_d(a, b) - 1e-12), abs=0.012)
