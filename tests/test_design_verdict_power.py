"""A normalised comparison that finds no difference says how large a gap its models could
have shown: "no significant difference" from 40 models a space is not "alike"."""

import numpy as np
import pytest

from cnnlab.design.edf import compare_normalized
from cnnlab.design.report_text import verdict_words


def test_chance_gap_is_the_d_one_shuffle_in_twenty_reaches():
    rng = np.random.default_rng(0)
    a, b = rng.normal(30, 3, 100), rng.normal(30, 3, 100)
    one_bin = np.full(100, 2e6)
    r = compare_normalized(a, one_bin, b, one_bin, permutations=1000)
    # One bin, 100 models each: the two-sample KS 5% critical D, 1.358 sqrt(2/100) = 0.19.
    assert 0.16 <= r.chance_gap <= 0.22
    assert (r.pvalue < 0.05) == (r.statistic > r.chance_gap)
    apart = compare_normalized(a, one_bin, b, np.full(100, 2e8), permutations=50)
    assert apart.shared_bins == 0 and np.isnan(apart.chance_gap)


def test_no_difference_says_what_gap_could_not_show():
    words = verdict_words("A", "E", 0.1, 0.2, 0.4, sizes=(40, 40), chance_gap=0.3)
    assert words == ("no significant difference (p >= 0.05), which does not make them "
                     "alike: with these models a gap under 0.30 is within chance and "
                     "could not show")


@pytest.mark.parametrize("sizes,gap", [((40, 40), None), ((40, 40), float("nan")),
                                       ((40, 12), 0.4)])
def test_the_gap_is_left_out_when_unknown_or_the_models_too_few(sizes, gap):
    words = verdict_words("A", "E", 0.1, 0.2, 0.4, sizes=sizes, chance_gap=gap)
    assert "within chance" not in words
    assert ("too few models" in words) == (min(sizes) < 30)


def test_a_significant_difference_quotes_no_chance_gap():
    words = verdict_words("A", "E", 0.0, 0.5, 1e-4, sizes=(40, 40), chance_gap=0.3)
    assert words.startswith("E better") and "within chance" not in words


def _summary(pairs: int, untested: int = 0, resamples: int = 2000) -> dict:
    tested = [{"shared_bins": 3, "differences": []}] * pairs
    refused = [{"shared_bins": 0, "differences": []}, {"shared_bins": 2, "differences": ["lr"]}]
    return {"spaces": [], "pairs": tested + (refused * untested)[:untested],
            "resamples": resamples, "bins": 10}


def test_several_pairs_say_their_p_values_are_each_for_one_pair():
    from cnnlab.design.report_text import report_notes

    notes = " ".join(report_notes(_summary(15)))
    assert ("15 pairs of spaces that do not differ would give an expected 0.75 false "
            "'better' verdicts at p < 0.05") in notes
    assert "ask p < 0.0033 (0.05 / 15, Bonferroni)" in notes
    assert "cannot reach" not in notes  # 2,000 shuffles reach 1/2001
    assert "Bonferroni" not in " ".join(report_notes(_summary(1)))
    # Pairs refused as not comparable (no shared bin, other training) have no p: not counted
    assert "Bonferroni" not in " ".join(report_notes(_summary(1, untested=2)))
    assert "for all 2 at once" in " ".join(report_notes(_summary(2, untested=2)))


def test_too_few_shuffles_for_the_corrected_bar_are_named():
    from cnnlab.design.report_text import report_notes

    notes = " ".join(report_notes(_summary(15, resamples=200)))
    assert ("which 200 shuffles cannot go under (their least p is 1/201): give --resamples "
            "300 or more") in notes
    # 299 shuffles reach 1/300, which is 0.05/15 and not under it: still said
    assert "give --resamples 300" in " ".join(report_notes(_summary(15, resamples=299)))
    assert "cannot go under" not in " ".join(report_notes(_summary(15, resamples=300)))
