"""The normalised verdict counts the models it compared (those in MACs bins both spaces
hold), not every model a sweep finished: 3 of 60 in the one shared bin are too few."""

import numpy as np
from test_design_report import sweep

from cnnlab.design.report import load_sweeps, summarize


def test_too_few_counts_the_models_in_shared_bins(tmp_path):
    rng = np.random.default_rng(0)
    a = sweep(tmp_path / "a", list(rng.uniform(20, 40, 40)))
    b = sweep(tmp_path / "b", list(rng.uniform(20, 40, 40)))
    ra, rb = load_sweeps([a, b])
    for i, r in enumerate(ra.rows):  # 3 of A's at 1M MACs, beside B's; 37 at 100K
        r["macs"] = 1e6 if i < 3 else 1e5 * (1 + i / 100)
    for r in rb.rows:
        r["macs"] = 1e6 * (1 + rng.uniform(0, 0.01))
    [pair] = summarize([ra, rb], resamples=100)["pairs"]
    assert (pair["compared_a"], pair["compared_b"]) == (3, 40)
    assert pair["too_few_for_p"]
    # Said which count it is: the spaces table beside it says 40 finished
    assert ("too few models to conclude from (under 30 per space in the MACs bins both "
            "spaces hold: anynetx_b (a) 3 of 40)") in pair["verdict"]
