"""The RegNet paper's fit: the quantised linear rule nearest a network's block widths,
and the design report's best networks with it."""

from __future__ import annotations

import math

import pytest

from cnnlab.design.regnet_fit import fit_regnet
from cnnlab.design.spaces import sample_trial
from cnnlab.models.regnet import generate_regnet


def test_the_rules_own_widths_fit_it_exactly():
    exact = 0
    for i in range(20):
        p = sample_trial("regnetx", 0, i).params
        # Group width 1: no compatibility step, the rule's widths as they are.
        stages = generate_regnet(p["w0"], p["wa"], p["wm"], p["depth"], 1, 1.0)
        fit = fit_regnet(stages.depths, stages.widths)
        assert fit.depth == p["depth"] and fit.fit_error < 0.01, (p, fit)
        again = generate_regnet(fit.w0, fit.wa, fit.wm, fit.depth, 1, 1.0)
        exact += (again.depths, again.widths) == (stages.depths, stages.widths)
    assert exact >= 19  # the grid can miss a threshold by a hair, once in a while


def test_e_fit_is_the_mean_absolute_log_ratio_of_the_widths():
    # Constant widths: the rule with the smallest slope keeps every block at w0.
    fit = fit_regnet([1, 1, 1, 1], [64, 64, 64, 64])
    assert (fit.w0, fit.fit_error) == (64, 0.0)
    # Widths that fall are what no rule makes (its widths never fall): a poor fit.
    falling = fit_regnet([2, 2, 2, 2], [256, 128, 64, 32])
    assert falling.fit_error > 0.5
    # One block of 8 among widths a rule of 16s makes: e_fit = ln(2) / blocks at best.
    assert fit_regnet([3, 1], [16, 8]).fit_error == pytest.approx(math.log(2) / 4)


def test_stages_that_do_not_pair_are_refused():
    with pytest.raises(ValueError, match="one depth >= 1 and one width >= 1 per stage"):
        fit_regnet([1, 2], [16])
    with pytest.raises(ValueError, match="per stage"):
        fit_regnet([0], [16])
