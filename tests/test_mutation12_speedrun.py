"""The speedrun's numbers against hand-computed ones (mutation testing, session 37):
which epoch's time is the time to target, what it includes, and the summary's means
and spreads."""

import math
from types import SimpleNamespace

import pytest

from cnnlab.bench import speedrun as sr
from cnnlab.bench.speedrun import SpeedrunResult, summarize


def _fake_run(monkeypatch, history, final_acc, best_acc):
    """run_once on a trainer that 'trained' ``history``: perf_counter reads 100 at the
    start and 130 at the end; the loop started at 102 (2 s of set-up)."""
    import cnnlab.train.run as run

    clock = iter([100.0, 130.0])
    monkeypatch.setattr(sr.time, "perf_counter", lambda: next(clock))
    trainer = SimpleNamespace(loop_started=102.0, stop_signal=None)
    result = SimpleNamespace(history=history, final={**history[-1], "test_acc": final_acc},
                             best_test_acc=best_acc)
    monkeypatch.setattr(run, "train_with_trainer", lambda cfg, **kw: (trainer, result))
    cfg = SimpleNamespace(seed=7)
    return sr.run_once(cfg, None, target=0.94)


def test_the_time_to_target_is_set_up_plus_the_first_epoch_at_the_target(monkeypatch):
    # wall_s: training and evaluation seconds of the epochs so far (issue 7: the time
    # includes evaluation). An accuracy equal to the target reaches it.
    history = [{"epoch": 1, "test_acc": 0.93, "wall_s": 5.0},
               {"epoch": 2, "test_acc": 0.94, "wall_s": 9.0},
               {"epoch": 3, "test_acc": 0.95, "wall_s": 13.0}]
    r = _fake_run(monkeypatch, history, final_acc=0.945, best_acc=0.95)
    assert r.time_to_target_s == pytest.approx(2.0 + 9.0)
    assert (r.final_acc, r.best_acc, r.total_time_s, r.epochs, r.seed) == \
        (0.945, 0.95, 30.0, 3, 7)


def test_a_target_never_reached_has_no_time(monkeypatch):
    history = [{"epoch": 1, "test_acc": 0.939999, "wall_s": 5.0}]
    assert _fake_run(monkeypatch, history, 0.939999, 0.939999).time_to_target_s is None


def test_the_summary_of_no_runs_is_not_all_reached():
    s = summarize([], 0.94)
    assert s["runs"] == 0 and s["reached"] == 0 and s["all_reached"] is False
    assert math.isnan(s["time_to_target_mean_s"]) and math.isnan(s["final_acc_mean"])


def test_ten_runs_give_the_sample_std_and_a_diverged_run_only_its_time():
    times = [2.9, 3.1, 3.0, 2.8, 3.2, 3.0, 3.1, 2.9, 3.0, 3.0]  # mean 3.0
    accs = [0.940, 0.942, 0.944, 0.946, 0.948, 0.950, 0.952, 0.954, 0.956, 0.958]
    runs = [SpeedrunResult(i, t, a, a, t + 1.0, 4) for i, (t, a) in
            enumerate(zip(times, accs, strict=True))]
    wild = SpeedrunResult(10, None, math.nan, math.nan, 0.5, 0, diverged=True)
    s = summarize([*runs, wild], 0.94)
    # sum of squares about 3.0: 0.01+0.01+0+0.04+0.04+0+0.01+0.01+0+0 = 0.12; n - 1 = 9
    assert s["time_to_target_mean_s"] == pytest.approx(3.0)
    assert s["time_to_target_std_s"] == pytest.approx(math.sqrt(0.12 / 9))
    # accuracies 0.940..0.958 step 0.002: mean 0.949, sample std 0.002 x sqrt(110/12)
    assert s["final_acc_mean"] == pytest.approx(0.949)
    assert s["final_acc_std"] == pytest.approx(0.002 * math.sqrt(110 / 12))
    # The total time per run is over every run, the diverged one's 0.5 s too.
    assert s["total_time_mean_s"] == pytest.approx((sum(times) + 10 + 0.5) / 11)
    assert (s["runs"], s["reached"], s["diverged"], s["all_reached"]) == (11, 10, 1, False)


def test_pick_best_is_the_fastest_mean_to_target_not_the_fastest_run():
    def runs(*pairs):  # (time to target, total time)
        return summarize([SpeedrunResult(i, t, 0.95, 0.95, total, 4)
                          for i, (t, total) in enumerate(pairs)], 0.94)

    short_total = runs((5.0, 6.0), (5.0, 6.0))  # slower to the target, ends sooner
    quick = runs((3.0, 9.0), (3.2, 9.0))
    assert sr.pick_best({"short": short_total, "quick": quick})[0] == "quick"
