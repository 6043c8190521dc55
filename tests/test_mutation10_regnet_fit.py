"""RegNet fit checks a manual mutation test (helper mutation10, session 37) found
missing: the grid search against a brute-force search of the paper's rule written out
here with numpy, its e_fit against the returned rule's own widths, and the exact fits of
pycls's published RegNets landing on pycls's 0.01 / 0.001 grid."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.design.regnet_fit import fit_regnet
from cnnlab.models.regnet import generate_regnet

# Widths no rule makes exactly (e_fit > 0): the grid search answers for these.
NOT_A_RULE = [([1, 1, 2, 3], [32, 56, 104, 256]), ([2, 2, 2, 2], [16, 40, 72, 160])]
# pycls's model zoo (w0, wa, wm, d), as in /work/shared/ANCHORS.md section 3.
PYCLS = {"RegNetX-200MF": (24, 36.44, 2.49, 13), "RegNetX-400MF": (24, 24.48, 2.54, 22),
         "RegNetX-600MF": (48, 36.97, 2.24, 16), "RegNetX-800MF": (56, 35.73, 2.28, 16),
         "RegNetX-1.6GF": (80, 34.01, 2.25, 18), "RegNetY-400MF": (48, 27.89, 2.09, 16)}


def _blocks(depths, widths):
    return np.repeat(np.asarray(widths, dtype=np.float64), depths)


def _brute_force(depths, widths, quantum=8):
    """The least mean |ln(rule / observed)| over a dense grid, the rule written out from
    the paper: u_j = w0 + wa j, s_j = round(ln(u_j / w0) / ln(wm)), w_j = w0 wm^s_j,
    rounded to a multiple of the quantum."""
    blocks = _blocks(depths, widths)
    j = np.arange(blocks.size)
    wa = np.geomspace(0.5, 256, 400)[:, None, None]
    wm = np.linspace(1.5, 3.0, 301)[None, :, None]
    best = np.inf
    for w0 in range(quantum, int(blocks.max()) + 1, quantum):
        s = np.round(np.log((w0 + wa * j) / w0) / np.log(wm))
        w = np.maximum(np.round(w0 * wm ** s / quantum) * quantum, quantum)
        best = min(best, float(np.abs(np.log(w / blocks)).mean(axis=2).min()))
    return best


@pytest.mark.parametrize(("depths", "widths"), NOT_A_RULE)
def test_the_fit_is_as_good_as_a_brute_force_search(depths, widths):
    fit = fit_regnet(depths, widths)
    assert 0 < fit.fit_error <= _brute_force(depths, widths) + 1e-12


@pytest.mark.parametrize(("depths", "widths"), NOT_A_RULE)
def test_e_fit_is_the_returned_rules_own_error(depths, widths):
    fit = fit_regnet(depths, widths)
    rule = generate_regnet(fit.w0, fit.wa, fit.wm, fit.depth, 1, 1.0, 8)
    made = _blocks(rule.depths, rule.widths)
    assert fit.depth == sum(depths) and made.size == fit.depth
    assert fit.fit_error == pytest.approx(np.mean(np.abs(np.log(made / _blocks(depths,
                                                                                  widths)))))


@pytest.mark.parametrize("name", sorted(PYCLS))
def test_exact_fits_of_pycls_regnets_are_on_pycls_grid(name):
    w0, wa, wm, d = PYCLS[name]
    stages = generate_regnet(w0, wa, wm, d, 1, 1.0, 8)
    fit = fit_regnet(stages.depths, stages.widths)
    assert (fit.w0, fit.depth, fit.fit_error) == (w0, d, 0.0)
    assert fit.wa * 100 == pytest.approx(round(fit.wa * 100), abs=1e-6), fit
    assert fit.wm * 1000 == pytest.approx(round(fit.wm * 1000), abs=1e-6), fit
    again = generate_regnet(fit.w0, fit.wa, fit.wm, fit.depth, 1, 1.0, 8)
    assert (again.depths, again.widths) == (stages.depths, stages.widths)
    if name == "RegNetX-1.6GF":  # the sliver the module docstring quotes
        assert (fit.wa, fit.wm) == pytest.approx((34.02, 2.249))


def test_a_fit_reads_with_three_figures_and_e_fit_to_three_decimals():
    from cnnlab.design.regnet_fit import RegNetFit
    assert str(RegNetFit(80, 34.0123, 2.2491, 18, 0.01449)) == ("w0=80, wa=34, wm=2.25 "
                                                                "(e_fit 0.014)")
