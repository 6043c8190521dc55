"""A result's repr shows a number of 10,000 or more whole: a run of 12,345.6 seconds read
"wall_s=1.235e+04" in ComparedRun's repr, and a KS test's 20,000 models "n_a=2e+04"."""

from pathlib import Path

from cnnlab.design.edf import KSResult
from cnnlab.formatting import four_figures
from cnnlab.train.compared_run import ComparedRun


def test_four_figures_keeps_a_large_number_whole_and_a_small_one_short():
    assert four_figures(12345.6) == "12346"
    assert four_figures(0.21055163272601085) == "0.2106"
    assert four_figures(1.4901161193847656e-08) == "1.49e-08"
    assert four_figures(float("nan")) == "nan"
    assert four_figures(1e20) == "1e+20"


def test_a_long_runs_seconds_and_a_large_sample_read_whole():
    run = ComparedRun(run_dir=Path("r"), config={"epochs": 1},
                      history=[{"epoch": 1, "test_acc": 0.9, "wall_s": 12345.6}], summary={})
    assert "wall_s=12346)" in repr(run)
    assert "n_a=20000," in repr(KSResult(0.1, 0.5, 20000.0, 30.0))
