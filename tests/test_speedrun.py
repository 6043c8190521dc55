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


def test_every_ablation_changes_only_what_it_names_and_measures_something():
    from dataclasses import asdict

    from cnnlab.bench.speedrun import ABLATIONS, FULL_RECIPE

    assert ABLATIONS[FULL_RECIPE] == {}
    for name, change in ABLATIONS.items():
        changed_somewhere = False
        for kind in ("cpu", "cuda"):
            full = asdict(speedrun_config(kind, seed=0))
            varied = asdict(speedrun_config(kind, seed=0, **change))
            differs = {k for k in full if full[k] != varied[k]}
            assert differs <= set(change), (name, kind)
            changed_somewhere |= bool(differs)
        # a variant that is already every recipe would measure nothing (the CLI skips
        # a variant only for the device whose recipe it already is)
        assert changed_somewhere or name == FULL_RECIPE, name


def test_ablation_rows_compare_with_the_full_recipe():
    from cnnlab.bench.speedrun import FULL_RECIPE, ablation_rows

    base = summarize([SpeedrunResult(0, 10.0, 0.92, 0.92, 12.0, 5),
                      SpeedrunResult(1, 12.0, 0.92, 0.92, 12.0, 5)], 0.91)
    worse = summarize([SpeedrunResult(0, 15.0, 0.915, 0.915, 12.0, 5),
                       SpeedrunResult(1, None, 0.905, 0.905, 12.0, 5)], 0.91)
    faster = summarize([SpeedrunResult(0, 8.0, 0.921, 0.921, 9.0, 5),
                        SpeedrunResult(1, 9.0, 0.923, 0.923, 9.0, 5)], 0.91)
    rows = ablation_rows({FULL_RECIPE: base, "no EMA": worse, "no TTA": faster})
    by = {r["variant"]: r for r in rows}
    assert by[FULL_RECIPE]["delta_acc_points"] == 0 and by[FULL_RECIPE]["delta_time_s"] == 0
    assert abs(by["no EMA"]["delta_acc_points"] + 1.0) < 1e-9
    assert by["no EMA"]["delta_time_s"] is None  # one run never reached the target
    assert abs(by["no TTA"]["delta_time_s"] + 2.5) < 1e-9


def test_speedrun_cli_names_a_mistyped_setting():
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--set", "ema_decy=0"])
    assert result.exit_code == 2
    assert "ema_decy" in result.output and "did you mean ema_decay" in result.output


def test_ablation_chart_is_written(tmp_path):
    from cnnlab.bench.speedrun import FULL_RECIPE, ablation_rows, plot_ablation

    s = summarize([SpeedrunResult(0, 10.0, 0.92, 0.92, 12.0, 5)], 0.91)
    worse = summarize([SpeedrunResult(0, 11.0, 0.915, 0.915, 12.0, 5)], 0.91)
    path = tmp_path / "charts" / "ablate.png"
    plot_ablation(ablation_rows({FULL_RECIPE: s, "no EMA": worse}), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
