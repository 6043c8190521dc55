"""A big sweep's report stays readable: 3,000 trials a space in the error-vs-MACs figure.
Read from the Figure's artists: how large and opaque the dots are."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.design.report import SpaceResult
from cnnlab.design.report_figures import error_vs_macs_figure


def space(label: str, n: int, seed: int) -> SpaceResult:
    rng = np.random.default_rng(seed)
    rows = [{"error_pct": float(e), "macs": int(m)}
            for e, m in zip(rng.normal(22, 3, n), rng.uniform(1e6, 4e6, n), strict=True)]
    return SpaceResult(label, label, {}, {"done": n}, rows)


def test_three_thousand_trials_a_space_are_drawn_faint_enough_to_show_both():
    fig = error_vs_macs_figure([space("anynetx_a", 3000, 0), space("anynetx_e", 3000, 1)])
    (ax,) = fig.axes
    for dots in ax.collections:
        # Faint and small: where 6,000 points pile up reads darker, and the space drawn
        # second no longer paints over the first.
        assert dots.get_alpha() <= 0.3
        assert dots.get_sizes()[0] < 16
    for handle in ax.get_legend().legend_handles:  # the key itself stays in full colour
        assert handle.get_alpha() == 1


def test_a_small_sweeps_dots_are_drawn_as_before():
    fig = error_vs_macs_figure([space("anynetx_a", 40, 0), space("anynetx_e", 40, 1)])
    for dots in fig.axes[0].collections:
        assert dots.get_alpha() == pytest.approx(0.8)
        assert dots.get_sizes()[0] == 16
