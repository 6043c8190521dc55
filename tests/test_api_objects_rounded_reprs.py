"""Results a notebook shows print their floats to 4 significant figures, not 17; the
attributes keep every digit."""

import re
from pathlib import Path

LONG_FLOAT = re.compile(r"\d\.\d{6,}|\de-\d\d\d")


def test_an_export_results_repr_rounds_its_differences():
    from cnnlab.export import ExportResult

    done = ExportResult(path=Path("m.onnx"), sidecar=Path("m.json"), exporter="torch.export",
                        opset=20, max_abs_diff={1: 1.4901161193847656e-08, 8: 6.7055e-08},
                        atol=1e-4, input_shape=(1, 28, 28), classes=["a", "b"], rtol=1e-5,
                        logit_scale=0.13066188991069794)
    text = repr(done)
    assert not LONG_FLOAT.search(text), text
    assert text.startswith("ExportResult(path='m.onnx', sidecar='m.json', ")
    assert "max_abs_diff={1: 1.49e-08, 8: 6.706e-08}" in text
    assert "input_shape=(1, 28, 28)" in text and "logit_scale=0.1307" in text
    assert done.max_abs_diff[1] == 1.4901161193847656e-08  # kept whole


def test_the_design_statistics_reprs_round_their_floats():
    from cnnlab.design import bootstrap_best, compare_normalized, ks_test

    ks = ks_test([0.1, 0.2, 0.3, 0.25], [0.3, 0.4, 0.35, 0.5])
    assert repr(ks) == "KSResult(statistic=0.75, pvalue=0.2106, n_a=4, n_b=4)"
    compared = compare_normalized([0.1, 0.2, 0.33, 0.4] * 3, [1e5, 2e5, 3e5, 4e5] * 3,
                                  [0.15, 0.27, 0.3, 0.45] * 3, [1e5, 2e5, 3e5, 4e5] * 3,
                                  bins=2, permutations=20)
    assert not LONG_FLOAT.search(repr(compared)), repr(compared)
    assert repr(compared).startswith("NormalizedComparison(statistic=")
    best = bootstrap_best([0.123456789, 0.2, 0.3], resamples=50)
    assert "best=0.1235" in repr(best) and best.best == 0.123456789


def test_a_speedrun_results_repr_rounds_its_seconds():
    from cnnlab.bench.speedrun import SpeedrunResult

    run = SpeedrunResult(seed=0, time_to_target_s=12.345678901234, final_acc=0.9312000000000001,
                         best_acc=0.9401, total_time_s=20.000000000000004, epochs=3)
    assert repr(run) == ("SpeedrunResult(seed=0, time_to_target_s=12.35, final_acc=0.9312, "
                         "best_acc=0.9401, total_time_s=20, epochs=3, diverged=False, "
                         "session=0)")
