"""fit_regnet on rules whose blocks jump past some of their widths, on random rules over
the design space's whole ranges, and its time on the widest torchvision RegNet."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from cnnlab.design.regnet_fit import fit_regnet
from cnnlab.models.regnet import TORCHVISION_REGNETS, _stage_index, generate_regnet


def _reproduces(w0: int, wa: float, wm: float, depth: int) -> tuple[bool, object]:
    """Whether the fit of this rule's widths is exact and names a rule that, with wa and
    wm rounded as the design report stores them, makes the same stages."""
    stages = generate_regnet(w0, wa, wm, depth, 1, 1.0)
    fit = fit_regnet(stages.depths, stages.widths)
    again = generate_regnet(fit.w0, round(fit.wa, 3), round(fit.wm, 3), fit.depth, 1, 1.0)
    same = (again.depths, again.widths) == (stages.depths, stages.widths)
    return fit.fit_error == 0.0 and fit.depth == depth and same, fit


@pytest.mark.parametrize("rule", [(8, 109.3, 2.961, 43), (16, 109.0, 2.183, 49),
                                  (24, 33.1, 1.722, 40), (8, 47.2, 2.853, 27)])
def test_a_rule_that_skips_a_stage_is_fit_exactly(rule):
    # Block 1 lands in stage 2 or 3 (a large wa on a small w0): the solver assumed one
    # stage per width in turn and the grid found e_fit 0.002 to 0.008, another rule.
    w0, wa, wm, depth = rule
    assert _stage_index(w0, wa, wm, 1) >= 2
    exact, fit = _reproduces(w0, wa, wm, depth)
    assert exact, fit


def test_random_rules_over_the_whole_ranges_are_fit_exactly():
    # Drawn as pycls's sweep draws them (d uniform, w0 log-uniform on multiples of 8,
    # wa to 0.1, wm to 0.001) over d < 64, w0 and wa up to 256, 1.5 <= wm <= 3: 15 of
    # 100 came back with e_fit > 0.
    rng = np.random.default_rng(0)
    missed = []
    for _ in range(150):
        w0 = 8 * round(math.exp(rng.uniform(math.log(8), math.log(256))) / 8)
        wa = round(math.exp(rng.uniform(math.log(0.5), math.log(256))), 1)
        wm = round(math.exp(rng.uniform(math.log(1.5), math.log(3.0))), 3)
        depth = int(rng.integers(1, 64))
        exact, fit = _reproduces(w0, wa, wm, depth)
        if not exact:
            missed.append(((w0, wa, wm, depth), str(fit)))
    assert not missed, missed


def test_the_widest_torchvision_regnet_is_fit_quickly():
    # Its widths as built (the group-width step moved them: no rule makes them) go to
    # the grid, which took 9 to 23 s when it tried every multiple of 8 up to 7392 as w0.
    stages = TORCHVISION_REGNETS["regnet_y_128gf"].stages()
    start = time.perf_counter()
    fit = fit_regnet(stages.depths, stages.widths)
    assert time.perf_counter() - start < 3.0
    assert 0 < fit.fit_error < 0.035  # the old grid's 0.033 or better
