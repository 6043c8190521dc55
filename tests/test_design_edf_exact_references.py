"""Design-space statistics against references computed here from their definitions, on
data small enough to enumerate: the permutation p-value and chance gap of
compare_normalized against every within-bin relabelling, and bootstrap_best's range
against the exact distribution of the best of k. A hand mutation test (round 4) found
the shuffles could leak across bins, skip the relabelling or ignore the seed with the
suite still passing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cnnlab.design.edf import (
    bootstrap_best,
    compare_normalized,
    complexity_bin_edges,
    edf,
    ks_test,
    shared_bins_weights,
)

# Two MACs bins (edges 1, 10, 100 with bins=2); error falls with MACs, so a shuffle that
# moved a model to the other bin would make gaps that relabelling within a bin cannot.
ERRORS_A = {0: [30.0, 31.0], 1: [12.0, 13.0, 15.5]}
ERRORS_B = {0: [32.0, 33.0, 34.0], 1: [14.0, 15.0]}
MACS = {0: 1.0, 1: 100.0}


def _space(errors: dict) -> tuple[list[float], list[float]]:
    return ([e for j in errors for e in errors[j]],
            [MACS[j] for j in errors for _ in errors[j]])


def _normalised_d(a: dict, b: dict) -> float:
    """sup_e |F_A(e) - F_B(e)|, F = the mean over the bins of each bin's plain EDF (<=)."""
    points = [e for side in (a, b) for j in side for e in side[j]]
    def f(side, e):
        return np.mean([np.mean(np.asarray(side[j]) <= e) for j in side])
    return max(abs(f(a, e) - f(b, e)) for e in points)


def _every_relabelling() -> list[float]:
    """D of every way to give, in each bin, its models' labels anew (counts kept)."""
    per_bin = []
    for j in MACS:
        pooled, k = ERRORS_A[j] + ERRORS_B[j], len(ERRORS_A[j])
        per_bin.append([([pooled[i] for i in pick],
                         [pooled[i] for i in range(len(pooled)) if i not in pick])
                        for pick in itertools.combinations(range(len(pooled)), k)])
    return [_normalised_d({j: s[0] for j, s in enumerate(split)},
                          {j: s[1] for j, s in enumerate(split)})
            for split in itertools.product(*per_bin)]


def test_permutation_p_value_and_chance_gap_match_every_relabelling():
    nulls = np.array(_every_relabelling())  # C(5,2) * C(5,3) = 100 equally likely
    observed = _normalised_d(ERRORS_A, ERRORS_B)
    exact_p = np.mean(nulls >= observed - 1e-12)
    got = compare_normalized(*_space(ERRORS_A), *_space(ERRORS_B), bins=2,
                             permutations=20000, seed=1)
    assert got.statistic == pytest.approx(observed)
    assert exact_p == 0.36  # a p in the middle, where a wrong null shows
    # 20,000 shuffles: the Monte Carlo p is within 0.012 (3.5 standard errors) of exact.
    assert got.pvalue == pytest.approx(exact_p, abs=0.012)
    # The chance gap is the exact null's 95th percentile (a value some relabelling has).
    assert got.chance_gap == pytest.approx(np.quantile(nulls, 0.95, method="inverted_cdf"))


def test_the_seed_picks_the_shuffles():
    a, b = _space(ERRORS_A), _space(ERRORS_B)
    runs = {s: compare_normalized(*a, *b, bins=2, permutations=50, seed=s).pvalue
            for s in range(6)}
    assert compare_normalized(*a, *b, bins=2, permutations=50, seed=3).pvalue == runs[3]
    assert len(set(runs.values())) > 1  # another seed, other shuffles


def _best_of_k_quantile(errors: list[float], k: int, q: float) -> float:
    """The smallest error e with P(best of k draws <= e) >= q (inverted CDF), exactly."""
    e = sorted(errors)
    for i, value in enumerate(e):
        if 1 - ((len(e) - i - 1) / len(e)) ** k >= q:  # P(best <= e_(i)), distinct errors
            return value
    return e[-1]


@pytest.mark.parametrize("k, level", [(1, 0.5), (2, 0.8), (4, 0.5)])
def test_bootstrap_range_is_the_exact_best_of_k_quantiles(k, level):
    errors = [9.0, 3.0, 5.0, 7.0, 1.0, 8.0]
    got = bootstrap_best(errors, sample_size=k, resamples=40000, level=level, seed=2)
    tail = (1 - level) / 2  # no exact CDF value is within 0.01 of these (7 standard errors)
    assert (got.low, got.high) == (_best_of_k_quantile(errors, k, tail),
                                   _best_of_k_quantile(errors, k, 1 - tail))
    assert got.best == 1.0 and got.sample_size == k


def test_bootstrap_bounds_are_errors_some_model_has():
    # 1,000 distinct errors: neighbouring minima differ, so a bound interpolated between
    # two of them is an error no model has (seed 0: the upper one was).
    errors = np.random.default_rng(0).uniform(5.0, 15.0, 1000)
    got = bootstrap_best(errors, sample_size=3, resamples=2000, seed=0)
    assert got.low in errors and got.high in errors
    for level in (0.0, 1.0):
        with pytest.raises(ValueError, match="level"):
            bootstrap_best(errors, level=level)


def test_the_bootstrap_seed_picks_the_resamples():
    errors = np.linspace(1.0, 2.0, 50)
    draws = {bootstrap_best(errors, sample_size=3, resamples=200, seed=s).high
             for s in range(6)}
    assert len(draws) > 1


def test_each_shared_bin_weighs_one_kth_even_with_one_model_in_it():
    # A holds one model in the first bin, four in the second: 1/2 and 1/8 each.
    (wa, wb), shared = shared_bins_weights([[1.0, 50, 60, 70, 80], [1.0, 2.0, 90]],
                                           complexity_bin_edges([1.0, 90], bins=2))
    assert shared == 2
    np.testing.assert_allclose(wa, [1 / 2, 1 / 8, 1 / 8, 1 / 8, 1 / 8])
    np.testing.assert_allclose(wb, [1 / 4, 1 / 4, 1 / 2])


def test_bins_must_be_at_least_one():
    with pytest.raises(ValueError, match="bins must be >= 1"):
        complexity_bin_edges([1.0, 2.0], bins=0)


def test_weights_that_sum_to_zero_are_refused():
    with pytest.raises(ValueError, match="positive sum"):
        edf([1.0, 2.0], 1.5, weights=[0.0, 0.0])


def test_weighted_ks_test_uses_kishs_effective_sizes():
    # Weights 3:1 on 2 models: n_eff = (3 + 1)^2 / (9 + 1) = 1.6; equal weights keep n.
    r = ks_test([1.0, 2.0], [3.0, 4.0, 5.0], weights_a=[3, 1], weights_b=[1, 1, 1])
    assert (r.n_a, r.n_b) == (pytest.approx(1.6), pytest.approx(3.0))
    assert r.statistic == 1.0
    assert r.pvalue > ks_test([1.0, 2.0], [3.0, 4.0, 5.0]).pvalue
    assert math.isfinite(r.pvalue)


def test_a_bootstrap_of_the_best_of_none_is_refused():
    # sample_size=0 had been read as "all n" (`or`), where the message says >= 1.
    with pytest.raises(ValueError, match="sample_size >= 1"):
        bootstrap_best([1.0, 2.0, 3.0], sample_size=0)
