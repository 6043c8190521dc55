"""The speedrun's own numbers and settings (mutation testing, session 40): an
ingredient's worth in time read one way, a user's --set winning over the speedrun's
defaults, and a run that heard Ctrl-C at its end still counted."""

from types import SimpleNamespace

import pytest

from cnnlab.bench import speedrun as sr
from cnnlab.bench.speedrun import FULL_RECIPE, SpeedrunResult, ablation_rows, summarize


def _runs(*times: float, acc: float = 0.95) -> dict:
    return summarize([SpeedrunResult(i, t, acc, acc, t + 1.0, 4)
                      for i, t in enumerate(times)], 0.94)


def test_an_ingredients_worth_in_time_reads_one_way_whether_taken_out_or_added():
    rows = {r["variant"]: r for r in ablation_rows({
        FULL_RECIPE: _runs(10.0, 12.0),  # mean 11 s
        "no weight EMA": _runs(14.0, 16.0),  # 4 s slower without: the EMA saves 4 s
        "translation ±1 px": _runs(8.0, 10.0),  # 2 s sooner with it
    })}
    assert rows["no weight EMA"]["delta_time_s"] == pytest.approx(4.0)
    assert rows["no weight EMA"]["effect_time_s"] == pytest.approx(-4.0)
    assert rows["translation ±1 px"]["delta_time_s"] == pytest.approx(-2.0)
    assert rows["translation ±1 px"]["effect_time_s"] == pytest.approx(-2.0)
    assert rows[FULL_RECIPE]["effect_time_s"] == 0.0


def test_a_time_is_compared_only_where_both_sides_always_reached_the_target():
    partial = summarize([SpeedrunResult(0, 9.0, 0.95, 0.95, 10.0, 4),
                         SpeedrunResult(1, None, 0.93, 0.93, 10.0, 4)], 0.94)
    rows = {r["variant"]: r for r in ablation_rows({FULL_RECIPE: partial,
                                                    "no weight EMA": _runs(14.0, 16.0)})}
    # the recipe's 9 s is over one run of two: no difference to another mean
    assert rows["no weight EMA"]["delta_time_s"] is None
    assert rows["no weight EMA"]["effect_time_s"] is None


@pytest.mark.parametrize("change", [{"ema_decay": 0.0}, {"tta_flip": False}])
def test_a_users_setting_wins_over_the_speedruns_own_defaults(change):
    # The speedrun turns on EMA and flip TTA for every recipe; "no weight EMA" and
    # "no flip TTA" (and --set ema_decay=0) must still turn them off.
    cfg = sr.speedrun_config("cpu", seed=3, **change)
    assert {k: getattr(cfg, k) for k in change} == change
    assert cfg.seed == 3 and cfg.quiet


def test_a_run_that_heard_ctrl_c_at_its_end_is_kept_and_stops_the_study(monkeypatch):
    import cnnlab.train.run as run

    clock = iter([100.0, 110.0])
    monkeypatch.setattr(sr.time, "perf_counter", lambda: next(clock))
    trainer = SimpleNamespace(loop_started=101.0, stop_signal="SIGINT")
    history = [{"epoch": 1, "test_acc": 0.95, "wall_s": 4.0}]
    result = SimpleNamespace(history=history, final=history[-1], best_test_acc=0.95)
    monkeypatch.setattr(run, "train_with_trainer", lambda cfg, **kw: (trainer, result))
    with pytest.raises(sr.StoppedAfterRun) as caught:
        sr.run_once(SimpleNamespace(seed=4), None, target=0.94)
    assert caught.value.signal_name == "SIGINT"
    assert caught.value.result.time_to_target_s == pytest.approx(5.0)
    assert caught.value.result.seed == 4 and caught.value.result.total_time_s == 10.0


def test_a_study_begun_on_another_gpu_is_not_resumed(tmp_path):
    # An H100's times averaged with an H200's would compare nothing.
    from cnnlab.bench.speedrun_study import keep_unfinished
    from cnnlab.train.config import ConfigError

    body = {"complete": False, "study": {"kind": "runs"}, "runs": [],
            "sessions": [{"gpu": "NVIDIA H100 80GB HBM3"}]}
    with pytest.raises(ConfigError, match="gpu NVIDIA H100 80GB HBM3 there, NVIDIA H200 here"):
        keep_unfinished(body, tmp_path / "s.json", {"kind": "runs"}, {},
                        {"gpu": "NVIDIA H200"})
