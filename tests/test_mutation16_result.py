"""What `cnnlab train`/`resume` print after training and `design run`'s note on --n, at
their edges (mutation testing found them unchecked); the run and the sweep stood in for."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from cnnlab.cli import design_run, train_result


def result_of(last: float, best: float, run_dir=None):
    return SimpleNamespace(final={"test_acc": last, "images_per_s": 100.0}, eval_scope="",
                           best_test_acc=best, train_time_s=1.0, stopped=None,
                           run_dir=run_dir, history=[])


@pytest.fixture
def printed(monkeypatch, capsys):
    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "2")

    def show(result):
        train_result.print_result(result)
        out, err = capsys.readouterr()
        return out, " ".join(err.split())
    return show


@pytest.mark.parametrize(("last", "noted"), [(0.70, True), (0.80, False), (math.nan, False)])
def test_a_last_epoch_more_than_ten_points_under_the_best_is_noted(printed, last, noted):
    _, err = printed(result_of(last, 0.85))
    assert ("points under the best (85.00%): cnnlab eval, predict and export use the best "
            "checkpoint" in err) is noted


def test_a_torchrun_process_other_than_rank_0_prints_nothing(printed, monkeypatch):
    monkeypatch.setattr("cnnlab.train.distributed.launched_as_main", lambda: False)
    assert printed(result_of(0.5, 0.9)) == ("", "")


@pytest.mark.parametrize(("exported", "why", "flags"), [
    (True, "(CNNLAB_NO_FIGURES set)", " --figures`"), (False, "(--no-figures)", "`")])
def test_skipped_figures_say_why_and_the_command_that_draws_them(printed, monkeypatch,
                                                                  tmp_path, exported, why,
                                                                  flags):
    from cnnlab.figures import NO_FIGURES_VARIABLE

    monkeypatch.setattr("cnnlab.train.compare_files.read_summary",
                        lambda run_dir: {"figures_skipped": True})
    if exported:
        monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")
    else:
        monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    _, err = printed(result_of(0.9, 0.9, run_dir=tmp_path))
    assert f"note: figures skipped {why}; `cnnlab resume {tmp_path}{flags} draws them" in err


@pytest.mark.parametrize(("n", "warned"), [(4, True), (5, False), (None, False)])
def test_n_below_the_trials_a_sweep_plans_is_warned_of_and_n_equal_is_not(
        monkeypatch, capsys, tmp_path, n, warned):
    monkeypatch.setattr(design_run, "planned_trials", lambda directory: 5)
    design_run.warn_if_n_is_below(n, tmp_path)
    assert ("is below the 5 trials" in capsys.readouterr().err) is warned


@pytest.mark.parametrize(("rank", "world", "seen"), [
    ("3", "1", 0), ("3", None, 0), ("1", "2", 1), ("x", "2", 0)])
def test_a_rank_counts_only_in_a_launch_of_more_than_one_process(monkeypatch, rank, world,
                                                                 seen):
    # Some job launchers set RANK for a single process: no "rank 3:" prefix, no pause.
    from cnnlab.cli.messages import launched_rank

    monkeypatch.setenv("RANK", rank)
    if world is None:
        monkeypatch.delenv("WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("WORLD_SIZE", world)
    assert launched_rank() == seen
