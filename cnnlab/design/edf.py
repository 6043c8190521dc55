"""Comparing design spaces by their error distributions (Radosavovic et al., NDS 2019).

- :func:`edf`: the empirical distribution function F(e) = (1/n) sum 1[e_i < e], the
  fraction of a space's models with error below e.
- :func:`complexity_weights` and :func:`normalized_edf`: spaces sampled under the same
  band can still put their models at different complexities, and bigger models tend
  to be better. Normalising divides the complexity range into k bins and gives each
  model the weight 1 / (k' m_j), m_j the models in its bin and k' the bins holding
  any, so each bin counts equally: the EDF of the space with its complexity made
  uniform over the bins it holds (two spaces compare alike only over bins both hold:
  :func:`compare_normalized`).
- :func:`ks_test`: the Kolmogorov-Smirnov statistic D = sup_e |F_1(e) - F_2(e)| and
  its asymptotic p-value (the Kolmogorov distribution; weighted EDFs use Kish's
  effective sample size n_eff = (sum w)^2 / sum w^2). ``analyze`` uses it for the
  plain EDFs only.
- :func:`compare_normalized`: two spaces' complexity-normalised EDFs over the bins both
  hold models in, their D, and a permutation p-value (labels shuffled within bins).
  The asymptotic p of weighted EDFs is far too large here: each bin's share is fixed,
  not drawn, so when error follows complexity (it does: that is why one normalises) the
  normalised D varies much less than an unweighted one of n_eff models would.
- :func:`bootstrap_best`: the best error and the bootstrap range of the best of n
  (resample n errors with replacement, take the minimum, repeat). Not a confidence
  interval for the space's true best: the minimum is an extreme, which the plain
  bootstrap cannot go past (its lower end is the observed best); it shows how much the
  best of n owes to which models were drawn.

Plain numpy; no scipy needed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnlab.formatting import rounded_repr


def _array(values: Sequence[float], name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty: an EDF needs at least one value")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return a


def _weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {n} non-negative numbers with a positive sum")
    return w / w.sum()


def edf(errors: Sequence[float], at: Sequence[float] | float,
        weights: Sequence[float] | None = None) -> np.ndarray:
    """F(e) = sum_i w_i 1[e_i < e] at each point of ``at`` (w_i = 1/n by default).

    Strictly below, as the paper defines it: F(e_min) = 0.
    """
    e = _array(errors, "errors")
    w = _weights(weights, e.size)
    points = np.atleast_1d(np.asarray(at, dtype=np.float64))
    order = np.argsort(e, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(w[order])])
    return cum[np.searchsorted(e[order], points, side="left")]


def edf_curve(errors: Sequence[float],
              weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted errors and the EDF just after each (for ``plt.step(x, y, where="post")``)."""
    e = _array(errors, "errors")
    w = _weights(weights, e.size)
    order = np.argsort(e, kind="stable")
    return e[order], np.cumsum(w[order])


# ---------------------------------------------------------------- complexity normalisation


def complexity_bin_edges(complexities: Sequence[float], bins: int = 10) -> np.ndarray:
    """``bins`` + 1 edges, equal in log space, from the smallest to the largest value.

    Pass the complexities of *every* space being compared, so all share the bins.
    """
    c = _array(complexities, "complexities")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if np.any(c <= 0):
        raise ValueError(f"complexities must be > 0 for log-spaced bins, got {c.min():g}: "
                         "leave out the networks whose complexity is unknown or 0")
    lo, hi = float(c.min()), float(c.max())
    if lo == hi:
        return np.array([lo, hi])
    return np.geomspace(lo, hi, bins + 1)


def complexity_weights(complexities: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    """w_i = 1 / (k' m_j(i)): each non-empty bin gets the same total weight 1/k'.

    ``complexities`` (one per model) are binned by ``edges``; values outside them fall
    into the first or last bin.
    """
    bin_of = _bin_of(complexities, edges)
    counts = np.bincount(bin_of, minlength=len(edges) - 1)
    occupied = int(np.count_nonzero(counts))
    return 1.0 / (occupied * counts[bin_of])


def shared_bins_weights(complexities: Sequence[Sequence[float]],
                        edges: Sequence[float]) -> tuple[list[np.ndarray], int]:
    """Per space, its models' weights over the bins *every* space holds, and how many.

    A model in shared bin j gets 1/(k m_j) (k shared bins, m_j its space's models there),
    one in a bin some space never reached gets 0. For two spaces over their own edges
    these are the weights :func:`compare_normalized` compares, so curves drawn with them
    show the gap its verdict quotes (per-space weights over each one's own bins need not).
    """
    bins = [_bin_of(c, edges) for c in complexities]
    # From the first space's distinct bins: reduce() over one space returned its bin of
    # each model, and a sweep analysed alone counted its 8 models as "8 of 10 MACs bins".
    shared = (functools.reduce(np.intersect1d, bins[1:], np.unique(bins[0])) if bins
              else np.array([], dtype=int))
    weights = []
    for bin_of in bins:
        kept = np.isin(bin_of, shared)
        counts = np.bincount(bin_of[kept], minlength=len(edges) - 1)
        weights.append(np.where(kept, 1.0 / (max(shared.size, 1)
                                             * np.maximum(counts[bin_of], 1)), 0.0))
    return weights, int(shared.size)


def _bin_of(complexities: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    c = _array(complexities, "complexities")
    # Inner edges only: bin j holds edges[j] <= c < edges[j+1]; the top edge is closed.
    return np.searchsorted(np.asarray(edges, dtype=np.float64)[1:-1], c, side="right")


def normalized_edf(errors: Sequence[float], complexities: Sequence[float],
                   at: Sequence[float] | float, edges: Sequence[float]) -> np.ndarray:
    """The complexity-normalised EDF of ``errors`` at ``at``, each model weighted by its
    ``complexities`` bin among ``edges`` (:func:`complexity_weights`)."""
    return edf(errors, at, complexity_weights(complexities, edges))


# ---------------------------------------------------------------- KS test


def ks_statistic(a: Sequence[float], b: Sequence[float],
                 weights_a: Sequence[float] | None = None,
                 weights_b: Sequence[float] | None = None) -> float:
    """D = sup_e |F_a(e) - F_b(e)| between two (optionally weighted) EDFs.

    Both are step functions jumping at the data, so the supremum is reached at one
    of the pooled values (taken from either side; comparing at every pooled value
    with the right-continuous F(e) = P(E <= e) covers both).
    """
    return max(edf_gaps(a, b, weights_a, weights_b))


def edf_gaps(a: Sequence[float], b: Sequence[float],
             weights_a: Sequence[float] | None = None,
             weights_b: Sequence[float] | None = None) -> tuple[float, float]:
    """The one-sided KS statistics: (sup_e F_a - F_b, sup_e F_b - F_a), each >= 0.

    An EDF of *error* that lies higher means more models below each error level, so
    the first number is how far ``a`` is ahead at its best point and the second how
    far ``b`` is. "a dominates b" is a large first number and a second near 0.
    """
    x, y = _array(a, "a"), _array(b, "b")
    pooled = np.concatenate([x, y])
    diff = (_cdf_le(x, _weights(weights_a, x.size), pooled)
            - _cdf_le(y, _weights(weights_b, y.size), pooled))
    return max(0.0, float(np.max(diff))), max(0.0, float(np.max(-diff)))


def _cdf_le(values: np.ndarray, weights: np.ndarray, points: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(weights[order])])
    return cum[np.searchsorted(values[order], points, side="right")]


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) D_n).

    Two series for the same function, each used where it converges fast:
    1 - sqrt(2 pi)/x sum_j exp(-(2j-1)^2 pi^2 / (8 x^2)) for small x, and
    2 sum_j (-1)^(j-1) exp(-2 j^2 x^2) for large x.
    """
    if x <= 0:
        return 1.0
    j = np.arange(1, 101, dtype=np.float64)
    if x < 1.18:
        cdf = math.sqrt(2 * math.pi) / x * np.sum(np.exp(-((2 * j - 1) ** 2) * math.pi ** 2
                                                         / (8 * x * x)))
        return float(min(1.0, max(0.0, 1.0 - cdf)))
    sf = 2 * np.sum((-1) ** (j - 1) * np.exp(-2 * j * j * x * x))
    return float(min(1.0, max(0.0, sf)))


def effective_size(weights: Sequence[float] | None, n: int) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2; n for equal weights."""
    if weights is None:
        return float(n)
    w = _weights(weights, n)
    return float(1.0 / np.sum(w * w))


@dataclass(frozen=True, repr=False)
class KSResult:
    """What :func:`ks_test` found: the ``statistic`` D (the largest gap between the two
    EDFs), its two-sided asymptotic ``pvalue``, and the (effective) sample sizes ``n_a``,
    ``n_b`` the p-value was computed for."""

    statistic: float  # D
    pvalue: float  # asymptotic, two-sided
    n_a: float  # (effective) sample sizes used for the p-value
    n_b: float

    __repr__ = rounded_repr  # a p-value of 0.21055163272601085: to 4 figures


def ks_test(a: Sequence[float], b: Sequence[float],
            weights_a: Sequence[float] | None = None,
            weights_b: Sequence[float] | None = None) -> KSResult:
    """Two-sample KS test of samples ``a`` and ``b`` (weighted by ``weights_a``,
    ``weights_b`` when given; n, m then their effective sizes): D and
    p = P(K > sqrt(n m / (n + m)) D), asymptotic.

    The asymptotic p-value is slightly conservative for a few dozen samples per
    space and accurate for the hundreds a design-space study uses.
    """
    d = ks_statistic(a, b, weights_a, weights_b)
    n = effective_size(weights_a, len(a))
    m = effective_size(weights_b, len(b))
    return KSResult(d, kolmogorov_sf(math.sqrt(n * m / (n + m)) * d), n, m)


@dataclass(frozen=True, repr=False)
class NormalizedComparison:
    """Two spaces' complexity-normalised EDFs compared over the bins both hold
    (:func:`compare_normalized`): the normalised KS ``statistic`` D and its permutation
    ``pvalue`` (both NaN where no bin holds models of both), the one-sided gaps
    ``a_ahead`` and ``b_ahead`` (:func:`edf_gaps`), the ``shared_bins`` of the pair's
    ``bins``, the models in them (``compared_a``, ``compared_b``: the others are left out),
    the ``permutations`` drawn, and ``chance_gap``: the D one shuffle in 20 reaches."""

    statistic: float  # the normalised KS D (NaN: no bin holds models of both)
    pvalue: float  # permutation p-value (NaN as above)
    a_ahead: float  # the one-sided gaps, as :func:`edf_gaps`
    b_ahead: float
    shared_bins: int  # of the pair's bins, those holding models of both spaces
    bins: int
    compared_a: int  # models in the shared bins; the others are left out
    compared_b: int
    permutations: int
    # The D that one shuffle in 20 reaches (the null's 95th percentile; NaN as above): a
    # gap below it is within chance for these models, so "no significant difference"
    # with a large one here means too few models to tell, not spaces alike.
    chance_gap: float = float("nan")

    __repr__ = rounded_repr


def compare_normalized(errors_a: Sequence[float], complexities_a: Sequence[float],
                       errors_b: Sequence[float], complexities_b: Sequence[float], *,
                       bins: int = 10, permutations: int = 2000,
                       seed: int = 0) -> NormalizedComparison:
    """Complexity-normalised KS comparison of two spaces, with a permutation p-value:
    space A's models' ``errors_a`` and MACs ``complexities_a``, space B's ``errors_b``
    and ``complexities_b``; ``permutations`` shuffles drawn from ``seed``.

    The pair's MACs range (theirs alone: another space analysed beside them changes
    nothing) is cut into ``bins`` log-spaced bins. Only bins holding models of both
    spaces count (a bin one space never reached says nothing about the other); in them
    each space's models get :func:`complexity_weights`' weights, each shared bin the
    same total. The p-value asks how often D is at least this large when, in every bin,
    which of its models belong to which space is shuffled:
    (1 + #{D* >= D}) / (1 + permutations), exact under the hypothesis that within a bin
    the spaces' errors are alike, for any number of models. ``chance_gap``, the D one
    shuffle in 20 reaches, is the smallest gap these models could show as significant.
    """
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1, got {permutations}")
    ea, eb = _array(errors_a, "errors_a"), _array(errors_b, "errors_b")
    ca, cb = _array(complexities_a, "complexities_a"), _array(complexities_b, "complexities_b")
    if ea.shape != ca.shape or eb.shape != cb.shape:
        raise ValueError(f"each space needs one complexity per error: got {ea.size} errors "
                         f"and {ca.size} complexities (space a), {eb.size} and {cb.size} "
                         "(space b)")
    edges = complexity_bin_edges(np.concatenate([ca, cb]), bins)
    (weights_a, weights_b), shared = shared_bins_weights([ca, cb], edges)
    keep_a, keep_b = weights_a > 0, weights_b > 0
    sizes = dict(shared_bins=shared, bins=len(edges) - 1, compared_a=int(keep_a.sum()),
                 compared_b=int(keep_b.sum()), permutations=permutations)
    if shared == 0:
        nan = float("nan")
        return NormalizedComparison(nan, nan, nan, nan, **sizes)
    values = np.concatenate([ea[keep_a], eb[keep_b]])
    bin_of = np.concatenate([_bin_of(ca, edges)[keep_a], _bin_of(cb, edges)[keep_b]])
    # +1/(k m^A_j) for a model of A, -1/(k m^B_j) for one of B: the normalised F_A - F_B
    # is the running sum of these over the errors in order. Shuffling labels within a
    # bin keeps its counts, so a permutation just moves these signed weights around it.
    signed = np.concatenate([weights_a[keep_a], -weights_b[keep_b]])
    order = np.argsort(values, kind="stable")
    # F is compared after each run of equal errors, not between tied ones.
    run_ends = np.r_[values[order][1:] != values[order][:-1], True]
    gaps = np.cumsum(signed[order])[run_ends]
    a_ahead, b_ahead = max(0.0, float(gaps.max())), max(0.0, float(-gaps.min()))
    statistic = max(a_ahead, b_ahead)
    rng = np.random.default_rng(seed)
    by_bin = np.argsort(bin_of, kind="stable")
    at_least = 0  # permutations whose D reaches the observed one
    nulls = []
    for start in range(0, permutations, 256):  # in blocks: ~100 MB at most for 10k models
        block = min(256, permutations - start)
        # A random key per model, sorted within bins: a shuffle of each bin.
        within = np.argsort(rng.random((block, values.size)) + bin_of * 2.0, axis=1)
        shuffled = np.empty_like(within)
        shuffled[:, by_bin] = within  # the model whose label each position now takes
        null = np.abs(np.cumsum(signed[shuffled][:, order], axis=1)[:, run_ends]).max(axis=1)
        # A tolerance for the sums' rounding: a D equal to the observed one counts.
        at_least += int(np.count_nonzero(null >= statistic - 1e-12))
        nulls.append(null)
    pvalue = (1 + at_least) / (1 + permutations)
    chance_gap = float(np.quantile(np.concatenate(nulls), 0.95, method="inverted_cdf"))
    return NormalizedComparison(statistic, pvalue, a_ahead, b_ahead, **sizes,
                                chance_gap=chance_gap)


# ---------------------------------------------------------------- best of n


@dataclass(frozen=True, repr=False)
class BestEstimate:
    """What :func:`bootstrap_best` found: the ``best`` (smallest) error observed, and the
    central ``level`` range [``low``, ``high``] of the best of ``sample_size`` models
    over ``resamples`` bootstrap resamples (a spread, not a confidence interval)."""

    best: float  # the smallest observed error
    low: float  # bootstrap range of the best of ``sample_size`` models (not a CI)
    high: float
    level: float
    sample_size: int
    resamples: int

    __repr__ = rounded_repr


def bootstrap_best(errors: Sequence[float], *, sample_size: int | None = None,
                   resamples: int = 2000, level: float = 0.95, seed: int = 0) -> BestEstimate:
    """The best of ``errors`` and the bootstrap ``level`` range of the best of
    ``sample_size``, from ``resamples`` resamples drawn from ``seed``.

    Each resample draws ``sample_size`` errors (default: all n) with replacement and
    keeps the minimum; the interval is the central ``level`` fraction of those minima.
    A smaller ``sample_size`` asks what a sweep of that size would likely find, which
    compares spaces sampled with different n fairly.
    """
    e = _array(errors, "errors")
    k = e.size if sample_size is None else int(sample_size)  # 0 refused, not read as all
    if k < 1 or resamples < 1 or not 0 < level < 1:
        raise ValueError("need sample_size >= 1, resamples >= 1 and 0 < level < 1")
    rng = np.random.default_rng(seed)
    minima = e[rng.integers(0, e.size, size=(resamples, k))].min(axis=1)
    tail = (1 - level) / 2
    # inverted_cdf: the bounds are errors some model really has, not interpolations.
    low, high = np.quantile(minima, [tail, 1 - tail], method="inverted_cdf")
    return BestEstimate(float(e.min()), float(low), float(high), level, k, resamples)
