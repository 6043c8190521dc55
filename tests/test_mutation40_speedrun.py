"""The speedrun's numbers as the ablation chart states them (mutation40): each test
pinned a hand-made mutant that every other test let pass."""

from cnnlab.bench.speedrun import _subtitle


def test_the_charts_baseline_has_no_spread_when_one_run_finished():
    # Two runs, one diverged: one accuracy, whose std of 0.00 is no measured spread.
    base = {"runs": 2, "diverged": 1, "reached": 1, "target": 0.92, "final_acc_mean": 0.925,
            "final_acc_std": 0.0, "time_to_target_mean_s": 30.0}
    first = _subtitle(base, {"model": "lenet_modern", "device": "cpu"})[0]
    assert "final test accuracy 92.50%;" in first and "±" not in first, first
    two = _subtitle({**base, "diverged": 0, "final_acc_std": 0.001}, {})[0]
    assert "final test accuracy 92.50% ± 0.10;" in two, two


def test_a_runs_row_gives_its_final_accuracy_before_its_best():
    # The table's headers are "final acc", "best acc": the study's numbers are the final.
    from cnnlab.bench.speedrun import SpeedrunResult
    from cnnlab.cli.speedrun_tables import run_row
    from cnnlab.formatting import percent_text

    r = SpeedrunResult(seed=3, time_to_target_s=None, final_acc=0.9312, best_acc=0.9405,
                       total_time_s=12.34, epochs=4, session=1)
    assert run_row(2, r, with_session=True) == [
        "3", "3", "not reached", percent_text(0.9312), percent_text(0.9405), "4", "12.3 s",
        "1"]
    assert percent_text(0.9312) != percent_text(0.9405)
