"""Speedrun: time-to-target bookkeeping and the summary statistics."""

from pathlib import Path

import pytest
import torch

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
    # A mean over the runs that got there is not a mean over all: said so.
    from cnnlab.cli.speedrun_tables import time_to_target_words

    assert not s["all_reached"] and time_to_target_words(s) == (
        "12.0 ± 2.8 s over the 2 runs that reached it (no mean over all 3: 1 never did)")
    whole = summarize(runs[:2], 0.92)
    assert whole["all_reached"] and time_to_target_words(whole) == "12.0 ± 2.8 s"
    one = summarize(runs[:1], 0.92)  # one run has no spread to show
    assert time_to_target_words(one) == "10.0 s"
    assert abs(s["time_to_target_std_s"] - 2.8284271) < 1e-6
    assert abs(s["final_acc_mean"] - 0.92) < 1e-12


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


def test_pick_best_prefers_always_reaching_then_fastest():
    from cnnlab.bench.speedrun import pick_best

    fast_but_flaky = summarize([SpeedrunResult(0, 2.0, 0.95, 0.95, 3.0, 5),
                                SpeedrunResult(1, None, 0.93, 0.93, 3.0, 5)], 0.94)
    steady = summarize([SpeedrunResult(0, 4.0, 0.945, 0.945, 5.0, 5),
                        SpeedrunResult(1, 5.0, 0.946, 0.946, 5.0, 5)], 0.94)
    slow = summarize([SpeedrunResult(0, 9.0, 0.95, 0.95, 9.0, 5),
                      SpeedrunResult(1, 9.0, 0.95, 0.95, 9.0, 5)], 0.94)
    assert pick_best({"a": fast_but_flaky, "b": steady, "c": slow})[0] == "b"
    # nobody reached it every time: the most accurate, whatever the order or the speed
    less_accurate = summarize([SpeedrunResult(0, 1.0, 0.95, 0.95, 2.0, 5),
                               SpeedrunResult(1, None, 0.90, 0.90, 2.0, 5)], 0.94)
    for order in (("a", "z"), ("z", "a")):
        candidates = {n: {"a": fast_but_flaky, "z": less_accurate}[n] for n in order}
        name, why = pick_best(candidates)
        assert name == "a" and "the most accurate" in why


def test_candidate_parsing_keeps_quoted_values_together():
    from cnnlab.bench.speedrun import parse_candidate

    assert parse_candidate("epochs=8 batch_size=1024 lr=0.4") == {
        "epochs": 8, "batch_size": 1024, "lr": 0.4}
    assert parse_candidate("'model_overrides={widths: [8, 16]}'") == {
        "model_overrides": {"widths": [8, 16]}}
    assert parse_candidate("") == {}


def test_speedrun_cli_tries_candidates_then_confirms_the_best(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import cnnlab.data
    from cnnlab.cli import app

    data = make_synthetic(num_train=256, num_test=64, seed=2)
    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: data)
    out = tmp_path / "sweep.json"
    result = CliRunner().invoke(app, [
        "speedrun", "--device", "cpu", "--target", "0.5", "--runs", "1",
        "--set", "batch_size=64", "--candidate", "epochs=1", "--candidate", "epochs=2",
        "--confirm", "2", "--warmup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert set(body["candidates"]) == {"epochs=1", "epochs=2"}
    assert body["best"] in body["candidates"] and body["why"]
    confirm = body["confirm"]
    assert confirm["candidate"] == body["best"]
    assert [r["seed"] for r in confirm["runs"]] == [1000, 1001]  # fresh seeds
    assert confirm["config"]["epochs"] == body["candidates"][body["best"]]["config"]["epochs"]
    assert "best candidate" in result.output


def test_speedrun_cli_rejects_a_bad_candidate_before_training():
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu",
                                      "--candidate", "epochs=2 lr_peak=3"])
    assert result.exit_code == 2 and "lr_peak" in result.output


def test_set_seed_is_the_first_runs_seed_and_candidates_cannot_set_one(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import cnnlab.bench.speedrun as sr
    import cnnlab.data
    from cnnlab.cli import app

    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: None)
    monkeypatch.setattr(sr, "run_once", lambda cfg, data, target: sr.SpeedrunResult(
        seed=cfg.seed, time_to_target_s=1.0, final_acc=0.9, best_acc=0.9,
        total_time_s=1.0, epochs=cfg.epochs))
    out = tmp_path / "s.json"
    runner = CliRunner()
    result = runner.invoke(app, ["speedrun", "--device", "cpu", "--runs", "2", "--no-warmup",
                                 "--set", "seed=5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [r["seed"] for r in json.loads(out.read_text())["runs"]] == [5, 6]
    result = runner.invoke(app, ["speedrun", "--device", "cpu", "--runs", "1", "--no-warmup",
                                 "--set", "seed=5", "--candidate", "epochs=1",
                                 "--confirm", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [r["seed"] for r in json.loads(out.read_text())["confirm"]["runs"]] == [1005]
    for bad in (["--set", "seed=1.5"], ["--candidate", "seed=3"]):
        result = runner.invoke(app, ["speedrun", "--device", "cpu", *bad])
        assert result.exit_code == 2 and "seed" in result.output, result.output


def test_an_interrupted_speedrun_keeps_its_finished_runs(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import cnnlab.bench.speedrun as sr
    import cnnlab.data
    from cnnlab.cli import app
    from cnnlab.train import TrainingInterrupted

    data = make_synthetic(num_train=128, num_test=32, seed=2)
    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: data)
    real_run_once, calls = sr.run_once, []

    def second_run_is_stopped(cfg, data, target):
        calls.append(cfg.seed)
        if len(calls) == 2:
            raise TrainingInterrupted("stopped by SIGTERM")
        return real_run_once(cfg, data, target)

    monkeypatch.setattr(sr, "run_once", second_run_is_stopped)
    out = tmp_path / "s.json"
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--runs", "3",
                                      "--set", "batch_size=64", "--set", "epochs=1",
                                      "--no-warmup", "--out", str(out)])
    assert result.exit_code == 130, result.output
    body = json.loads(out.read_text())
    assert body["complete"] is False and [r["seed"] for r in body["runs"]] == [0]


def test_a_speedrun_interrupted_before_any_run_finished_leaves_its_out_file(
        tmp_path, monkeypatch):
    # It wrote {"complete": false} over the file and said "the finished runs are in" it.
    from typer.testing import CliRunner

    import cnnlab.bench.speedrun as sr
    import cnnlab.data
    from cnnlab.cli import app

    monkeypatch.setattr(cnnlab.data, "load_dataset",
                        lambda *a, **k: make_synthetic(num_train=128, num_test=32, seed=2))

    def interrupted(cfg, data, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(sr, "run_once", interrupted)
    out = tmp_path / "s.json"
    out.write_text('{"old": "result"}')
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--runs", "2",
                                      "--no-warmup", "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert out.read_text() == '{"old": "result"}'
    said = " ".join(result.output.split())
    assert "before any run finished" in said and f"{out} was not written" in said


def test_a_diverged_run_is_a_failed_result_not_a_crash(monkeypatch):
    import math

    import cnnlab.train.run
    from cnnlab.bench.speedrun import pick_best
    from cnnlab.train import TrainingDiverged

    def diverge(cfg, data=None, **kw):
        raise TrainingDiverged("the loss became NaN/inf at epoch 1, step 50")

    monkeypatch.setattr(cnnlab.train.run, "train_with_trainer", diverge)
    cfg = speedrun_config("cpu", seed=3, epochs=1)
    r = run_once(cfg, data=None, target=0.9)
    assert r.diverged and r.time_to_target_s is None and math.isnan(r.final_acc)
    ok = SpeedrunResult(4, None, 0.91, 0.91, 5.0, 1)
    s = summarize([r, ok], 0.9)
    assert s["diverged"] == 1 and s["final_acc_mean"] == 0.91  # accuracy of runs that have one
    only_diverged = summarize([r], 0.9)
    assert pick_best({"wild": only_diverged, "tame": summarize([ok], 0.95)})[0] == "tame"


@pytest.mark.parametrize("args, words", [
    (["--out", "."], "is a folder"),
    (["--out", "pyproject.toml/s.json"], "is a file, not a folder"),
    (["--runs", "0"], "--runs"),
    (["--set", "data=synthetic"], "is on Fashion-MNIST"),
    (["--set", "device=cuda"], "use --device"),
    (["--device", "nosuch"], "unknown device 'nosuch'"),
    (["--set", "model_overrides={bogus: 1}"], "has no option 'bogus'"),
    (["--model", "speednet_wdie"], "unknown model 'speednet_wdie'. Did you mean: speednet_wide"),
    (["--target", "92"], "fraction in (0, 1]; did you mean 0.92?"),
    (["--target", "0"], "fraction in (0, 1]"),
    (["--confirm", "3"], "--confirm N re-runs the best of the --candidate recipes"),
    (["--candidate", "epochs=1", "--candidate", " epochs=1 "],
     "--candidate 'epochs=1' is given twice"),
    (["--ablate", "--out", "study.png"], "give study.json"),
    (["--out", "runs.csv"], "the runs are written as JSON; give runs.json"),
    (["--set", "model=lenet_d2l", "--model", "lenet_modern"],
     "model given twice: --model lenet_modern and --set model=lenet_d2l"),
])
def test_speedrun_refuses_what_would_fail_late_before_loading_data(args, words, monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.data
    from cnnlab.cli import app

    def no_data(*a, **k):
        raise AssertionError("the data was loaded before the options were checked")

    monkeypatch.setattr(cnnlab.data, "load_dataset", no_data)
    monkeypatch.chdir(Path(__file__).parents[1])
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", *args])
    assert result.exit_code == 2 and words in " ".join(result.output.split()), result.output


def test_speedrun_without_the_data_says_where_it_looked(data_env):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--data-root",
                                      str(data_env / "nowhere")])
    assert result.exit_code == 1 and "nowhere (given path): does not exist" in " ".join(
        result.output.split())
    assert not (data_env / "nowhere").exists()
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_a_target_never_reached_is_said_in_words(monkeypatch):
    from typer.testing import CliRunner

    import cnnlab.data
    from cnnlab.cli import app

    data = make_synthetic(num_train=128, num_test=32, seed=2)
    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: data)
    # --warmup: its one-epoch run must not keep a warm-up of a whole epoch
    result = CliRunner().invoke(app, ["speedrun", "--device", "cpu", "--target", "1.0",
                                      "--runs", "1", "--set", "epochs=2", "--warmup",
                                      "--set", "warmup_epochs=1", "--set", "batch_size=64"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "reached 0/1; time to 100.0%: not reached;" in words and "nan" not in words
    assert "speedrun to 100.0% on cpu: lenet_modern, 2 epochs" in words  # what raced


def test_speedrun_on_a_busy_cpu_says_what_its_times_are_up_against(monkeypatch):
    # A review's CPU speedrun at load 2.8 took 281 s to 92% (about a minute idle), and,
    # unlike `cnnlab train`, said nothing of the load or of --threads 1.
    import os

    from typer.testing import CliRunner

    import cnnlab.data
    from cnnlab.cli import app

    torch.set_num_threads(2)  # the tests' pool of one is not told to use one (conftest
    # puts the count back after each test)
    data = make_synthetic(num_train=128, num_test=32, seed=2)
    monkeypatch.setattr(cnnlab.data, "load_dataset", lambda *a, **k: data)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    args = ["speedrun", "--device", "cpu", "--target", "0.5", "--runs", "1", "--no-warmup",
            "--set", "batch_size=64", "--set", "epochs=1"]
    busy = CliRunner().invoke(app, args)
    assert busy.exit_code == 0, busy.output
    assert "this CPU is busy (load 9.0" in " ".join(busy.stderr.split())
    steady = CliRunner().invoke(app, [*args, "--threads", "1"])
    assert steady.exit_code == 0 and "this CPU is busy" not in steady.stderr, steady.output
