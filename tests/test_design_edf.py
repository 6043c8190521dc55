"""EDF, complexity-normalised EDF, KS statistic and p-value, bootstrap best: numbers worked
out by hand on small error lists, and the Kolmogorov distribution's tabulated values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlab.design.edf import (
    bootstrap_best,
    compare_normalized,
    complexity_bin_edges,
    complexity_weights,
    edf,
    edf_curve,
    edf_gaps,
    effective_size,
    kolmogorov_sf,
    ks_statistic,
    ks_test,
    normalized_edf,
)

ERRORS = [30.0, 10.0, 40.0, 20.0]


def test_edf_counts_errors_strictly_below():
    got = edf(ERRORS, [5, 10, 10.5, 20, 25, 40, 41])
    np.testing.assert_allclose(got, [0, 0, 0.25, 0.25, 0.5, 0.75, 1.0])
    assert edf([5.0, 5.0, 7.0], 6.0)[0] == pytest.approx(2 / 3)  # ties count together


def test_weighted_edf_and_curve():
    np.testing.assert_allclose(edf(ERRORS, [15, 35], weights=[1, 2, 3, 4]),
                               [2 / 10, 7 / 10])  # 10 weighs 2; 10, 20, 30 weigh 2+4+1
    x, y = edf_curve(ERRORS)
    np.testing.assert_allclose(x, [10, 20, 30, 40])
    np.testing.assert_allclose(y, [0.25, 0.5, 0.75, 1.0])


def test_edf_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        edf([], 1.0)
    with pytest.raises(ValueError, match="NaN"):
        edf([1.0, float("nan")], 1.0)
    with pytest.raises(ValueError, match="weights"):
        edf([1.0, 2.0], 1.0, weights=[1.0])


def test_complexity_bins_and_weights_by_hand():
    edges = complexity_bin_edges([1, 100], bins=2)
    np.testing.assert_allclose(edges, [1, 10, 100])  # equal in log space
    # Three models in [1, 10), one in [10, 100]: 1/(2*3) each, and 1/2.
    w = complexity_weights([1, 2, 5, 100], edges)
    np.testing.assert_allclose(w, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    assert w.sum() == pytest.approx(1.0)
    # An inner edge starts its bin, the top edge closes the last one; values outside
    # the edges go to the end bins: 0.5 alone in the first, 10, 100, 1000 in the last.
    np.testing.assert_allclose(complexity_weights([10, 100, 0.5, 1000], edges),
                               [1 / 6, 1 / 6, 1 / 2, 1 / 6])
    # Empty bins share nothing: two of three bins occupied, each gets 1/2.
    w = complexity_weights([1, 1.5, 90], complexity_bin_edges([1, 100], bins=3))
    np.testing.assert_allclose(w, [1 / 4, 1 / 4, 1 / 2])


def test_normalized_edf_by_hand():
    # Errors 10, 20, 30 at low complexity, 40 alone at high: weights 1/6, 1/6, 1/6, 1/2.
    errors, cx = [10, 20, 30, 40], [1, 2, 5, 100]
    edges = complexity_bin_edges(cx, bins=2)
    np.testing.assert_allclose(normalized_edf(errors, cx, [15, 25, 35, 45], edges),
                               [1 / 6, 2 / 6, 3 / 6, 1.0])
    # Two models in each bin: every weight is 1/4, the plain EDF.
    np.testing.assert_allclose(normalized_edf(errors, [1, 2, 50, 100], [25], [1, 10, 100]),
                               [1 / 4 + 1 / 4])


def test_ks_statistic_by_hand():
    assert ks_statistic([1, 2, 3], [2, 3, 4]) == pytest.approx(1 / 3)
    assert ks_statistic([1, 2, 3], [3, 2, 1]) == 0.0
    assert ks_statistic([1, 2], [3, 4, 5]) == 1.0
    assert ks_statistic([1, 2, 3, 4], [2.5]) == pytest.approx(0.5)
    # Weighted: a puts 0.9 of its mass on 1, b all on 2 -> D = 0.9.
    assert ks_statistic([1, 2], [2], weights_a=[9, 1]) == pytest.approx(0.9)


def test_ks_statistic_is_the_supremum_on_a_fine_grid():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = np.round(rng.normal(size=rng.integers(3, 15)), 1)  # ties on purpose
        b = np.round(rng.normal(0.5, size=rng.integers(3, 15)), 1)
        grid = np.linspace(-6, 6, 12001) + 1e-9
        brute = np.max(np.abs(np.mean(a[:, None] <= grid, 0) - np.mean(b[:, None] <= grid, 0)))
        assert ks_statistic(a, b) == pytest.approx(brute)


def test_one_sided_gaps_say_which_space_is_ahead():
    low, high = [1, 2, 3], [4, 5, 6]  # every error of `low` beats every one of `high`
    assert edf_gaps(low, high) == (1.0, 0.0) and edf_gaps(high, low) == (0.0, 1.0)
    # crossing EDFs: a is ahead at small errors, b at large ones
    a_ahead, b_ahead = edf_gaps([1, 5, 6, 7], [2, 3, 4, 8])
    assert a_ahead == pytest.approx(0.25) and b_ahead == pytest.approx(0.5)
    assert max(edf_gaps([1, 5, 6, 7], [2, 3, 4, 8])) == ks_statistic([1, 5, 6, 7], [2, 3, 4, 8])
    assert edf_gaps([1, 2], [1.5], weights_a=[1, 9]) == (pytest.approx(0.1), pytest.approx(0.9))


@pytest.mark.parametrize("x, p", [
    # Critical values of the Kolmogorov distribution (standard tables).
    (1.22385, 0.10), (1.35810, 0.05), (1.48022, 0.025), (1.62762, 0.01), (1.73082, 0.005),
    (1.94947, 0.001),
])
def test_kolmogorov_sf_matches_the_table(x, p):
    assert kolmogorov_sf(x) == pytest.approx(p, rel=2e-4)


def test_kolmogorov_sf_limits_and_the_series_switch():
    assert kolmogorov_sf(0.0) == 1.0 and kolmogorov_sf(-1) == 1.0
    assert kolmogorov_sf(0.2) == pytest.approx(1.0, abs=1e-12)
    assert kolmogorov_sf(4.0) < 1e-12
    # P(K <= 0.5) = 0.03605 (Kolmogorov 1933, table); the two series meet at 1.18.
    assert 1 - kolmogorov_sf(0.5) == pytest.approx(0.036055, abs=2e-6)
    assert kolmogorov_sf(1.18 - 1e-9) == pytest.approx(kolmogorov_sf(1.18), abs=1e-9)
    values = [kolmogorov_sf(x) for x in np.linspace(0.3, 2.5, 50)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_ks_test_p_value():
    # Disjoint samples of 5 and 5: D = 1, sqrt(25/10) * 1 = 1.5811 -> p ~ 0.0135.
    r = ks_test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert (r.statistic, r.n_a, r.n_b) == (1.0, 5, 5)
    assert r.pvalue == pytest.approx(kolmogorov_sf(math.sqrt(2.5)))
    assert 0.013 < r.pvalue < 0.014
    same = ks_test(range(50), range(50))
    assert same.statistic == 0 and same.pvalue == 1.0
    # Weighted: the effective sizes enter the p-value.
    w = [1, 1, 1, 5]
    r = ks_test([1, 2, 3, 4], [1, 2, 3, 4], weights_a=w)
    assert r.n_a == pytest.approx(effective_size(w, 4)) and r.n_a == pytest.approx(64 / 28)


def test_against_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(0.4, size=55)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)
    for x in (0.3, 0.8, 1.1, 1.5, 2.2):
        assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-9)


def test_bootstrap_best():
    # Best of 3 drawn from {1, 3, 5}: P(1) = 1 - (2/3)^3 = 0.704, P(3) = 0.259,
    # P(5) = 1/27 = 0.037. The 95% interval reaches 5 (0.037 > 0.025), the 90% one
    # stops at 3 (0.037 < 0.05); the bounds are values a sweep can actually find.
    est = bootstrap_best([5.0, 1.0, 3.0], resamples=4000, seed=0)
    assert (est.best, est.low, est.high) == (1.0, 1.0, 5.0)
    est = bootstrap_best([5.0, 1.0, 3.0], resamples=4000, level=0.9, seed=0)
    assert (est.low, est.high) == (1.0, 3.0)
    # Best of one model drawn from {1, 2}: a coin flip, so the 95% interval is [1, 2].
    one = bootstrap_best([1.0, 2.0], sample_size=1, resamples=2000, seed=0)
    assert (one.low, one.high, one.sample_size) == (1.0, 2.0, 1)
    # Best of 2 from {1, 2} is 2 only with probability 1/4: the interval still reaches 2.
    two = bootstrap_best([1.0, 2.0], resamples=2000, seed=0)
    assert (two.low, two.high) == (1.0, 2.0)
    assert bootstrap_best([4.0] * 5).low == bootstrap_best([4.0] * 5).high == 4.0
    assert bootstrap_best(ERRORS, seed=3) == bootstrap_best(ERRORS, seed=3)
    with pytest.raises(ValueError):
        bootstrap_best(ERRORS, level=1.5)


def _following_complexity(rng, n, shift=0.0):
    macs = np.exp(rng.uniform(np.log(1e6), np.log(4e6), n))
    return 20 - 3 * np.log(macs / 1e6) + rng.normal(0, 1, n) + shift, macs


def test_normalised_comparison_is_the_weighted_ks_over_shared_bins():
    rng = np.random.default_rng(4)
    (ea, ca), (eb, cb) = _following_complexity(rng, 60), _following_complexity(rng, 70)
    got = compare_normalized(ea, ca, eb, cb, bins=10, permutations=100)
    edges = complexity_bin_edges(np.r_[ca, cb], 10)
    gaps = edf_gaps(ea, eb, complexity_weights(ca, edges), complexity_weights(cb, edges))
    assert got.shared_bins == 10 and (got.compared_a, got.compared_b) == (60, 70)
    assert (got.a_ahead, got.b_ahead) == pytest.approx(gaps)
    assert got.statistic == pytest.approx(max(gaps))


def test_normalised_comparison_weighs_only_the_bins_both_spaces_hold():
    # Error follows complexity alone; B also has models far above A's. Each space made
    # uniform over its own bins still differed (D 0.5); over the shared bin they agree.
    error = lambda c: 30 - 3 * np.log(np.asarray(c, dtype=float))  # noqa: E731
    a, b = [1, 2, 3, 4, 1, 2, 3, 4], [1, 2, 3, 4, 50, 60, 70, 80]
    got = compare_normalized(error(a), a, error(b), b, bins=2, permutations=50)
    assert got.statistic == 0.0 and got.pvalue == 1.0
    assert (got.shared_bins, got.compared_a, got.compared_b) == (1, 8, 4)
    apart = compare_normalized([1.0, 2.0], [1, 2], [3.0, 4.0], [100, 200], bins=2)
    assert apart.shared_bins == 0 and math.isnan(apart.statistic) and math.isnan(apart.pvalue)


def test_normalised_p_value_holds_its_level_when_error_follows_complexity():
    # Two samples of one space, error falling with MACs: the weighted EDFs' asymptotic p
    # rejected 0-1% of such pairs at 0.05; the permutation p about 5%, as a p-value must.
    rng = np.random.default_rng(5)
    rejected = [compare_normalized(*_following_complexity(rng, 60),
                                   *_following_complexity(rng, 60), permutations=200,
                                   seed=i).pvalue < 0.05 for i in range(200)]
    assert 0.02 <= np.mean(rejected) <= 0.09
    better = [compare_normalized(*_following_complexity(rng, 60),
                                 *_following_complexity(rng, 60, shift=-1.0), permutations=200,
                                 seed=i).pvalue < 0.05 for i in range(50)]
    assert np.mean(better) > 0.5


def test_normalised_comparison_needs_a_permutation():
    with pytest.raises(ValueError, match="permutations must be >= 1"):
        compare_normalized([1.0, 2.0], [1, 2], [1.5], [1], permutations=0)
