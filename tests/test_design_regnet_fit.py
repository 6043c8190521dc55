"""The RegNet paper's fit: the quantised linear rule nearest a network's block widths,
and the design report's best networks with it."""

from __future__ import annotations

import math

import pytest

from cnnlab.design.regnet_fit import RegNetFit, fit_regnet
from cnnlab.design.spaces import sample_trial
from cnnlab.models.regnet import REGNETS, generate_regnet


def _refits(stages) -> tuple[RegNetFit, bool]:
    """The fit of ``stages`` (a rule's own widths) and whether the rule it names, with
    wa and wm rounded as the design report stores them, makes the same stages again."""
    fit = fit_regnet(stages.depths, stages.widths)
    again = generate_regnet(fit.w0, round(fit.wa, 3), round(fit.wm, 3), fit.depth, 1, 1.0)
    return fit, (again.depths, again.widths) == (stages.depths, stages.widths)


def test_the_rules_own_widths_fit_it_exactly():
    for i in range(20):
        p = sample_trial("regnetx", 0, i).params
        # Group width 1: no compatibility step, the rule's widths as they are.
        stages = generate_regnet(p["w0"], p["wa"], p["wm"], p["depth"], 1, 1.0)
        fit, exact = _refits(stages)
        assert fit.depth == p["depth"] and fit.fit_error == 0.0 and exact, (p, fit)


@pytest.mark.parametrize("name", sorted(REGNETS))
def test_pycls_published_regnets_are_fit_exactly(name):
    # pycls's model zoo parameters; RegNetX-1.6GF's widths need wm in [2.248, 2.250],
    # a sliver the grid search stepped over (e_fit 0.014, another rule's widths).
    cfg = REGNETS[name]
    stages = generate_regnet(cfg.w0, cfg.wa, cfg.wm, cfg.depth, 1, 1.0)
    fit, exact = _refits(stages)
    assert (fit.w0, fit.depth, fit.fit_error) == (cfg.w0, cfg.depth, 0.0) and exact, fit


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
