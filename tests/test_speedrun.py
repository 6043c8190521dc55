"""Speedrun: time-to-target bookkeeping and the summary statistics."""

from cnnlab.bench.speedrun import SpeedrunResult, run_once, speedrun_config, summarize
from cnnlab.data.synthetic import make_synthetic


def test_time_to_target_is_found_and_counts_setup():
    data = make_synthetic(num_train=256, num_test=64, seed=2)
    cfg = speedrun_config("cpu", seed=0, epochs=3, batch_size=64, device="cpu")
    r = run_once(cfg, data, target=0.5)
    assert r.time_to_target_s is not None and 0 < r.time_to_target_s <= r.total_time_s
    assert r.epochs == 3 and r.best_acc >= 0.5
    unreachable = run_once(cfg, data, target=1.01)
    assert unreachable.time_to_target_s is None


def test_summary_mean_and_std():
    runs = [SpeedrunResult(0, 10.0, 0.92, 0.93, 12.0, 5),
            SpeedrunResult(1, 14.0, 0.94, 0.94, 16.0, 5),
            SpeedrunResult(2, None, 0.90, 0.90, 15.0, 5)]
    s = summarize(runs, 0.92)
    assert s["reached"] == 2 and s["time_to_target_mean_s"] == 12.0
    assert abs(s["time_to_target_std_s"] - 2.8284271) < 1e-6
    assert abs(s["final_acc_mean"] - 0.92) < 1e-12


def test_speednet_is_registered_and_trainable():
    from cnnlab import get_model, summary

    model = get_model("speednet")
    s = summary(model, (1, 28, 28))
    assert s.totals.params == sum(p.numel() for p in model.parameters())
