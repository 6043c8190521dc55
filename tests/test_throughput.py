"""`cnnlab bench throughput`: rows measured and stored as they come, the batch halved on
out-of-memory, each model's plain step timed beside the settings asked for."""

import json
import math

import pytest
import torch
from throughput_helpers import throughput_row as _row

from cnnlab.bench import throughput as tp


def test_throughput_rows():
    rows = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=2)
    assert rows[0]["train_samples_per_s"] > 0 and rows[0]["infer_samples_per_s"] > 0
    assert rows[0]["batch_size"] == 8


def test_throughput_pads_the_stem_where_it_can_and_says_where_not():
    rows = tp.benchmark(["lenet_d2l", "resnet18"], batch_size=2, image_size=32, device="cpu",
                        steps=1, pad_stem=4)
    assert rows[0]["pad_stem"] == 4 and rows[0]["note"] == ""
    # torchvision's ResNet-18 reads 3 channels: padded to 4 as well.
    assert rows[1]["pad_stem"] == 4
    rows = tp.benchmark(["resnet18"], batch_size=2, image_size=32, device="cpu", steps=1,
                        pad_stem=3)
    assert rows[0]["pad_stem"] == 0 and "stem not padded" in rows[0]["note"]


def test_the_profiled_steps_train_batch_norm_in_train_mode(monkeypatch):
    # The profile ran after the inference phase had put the model in eval mode: it
    # profiled eval-mode BatchNorm kernels as the training step's.
    built, modes = [], []
    real_get_model, real_profile = tp.get_model, tp._profile
    monkeypatch.setattr(tp, "get_model", lambda *a, **k: built.append(
        real_get_model(*a, **k)) or built[-1])

    def profile(step, device, steps, rows=25):
        modes.append({m.training for m in built[-1].modules()
                      if isinstance(m, torch.nn.BatchNorm2d)})
        return real_profile(step, device, steps, rows)

    monkeypatch.setattr(tp, "_profile", profile)
    row = tp.measure("lenet_bn", 4, device="cpu", steps=1, warmup=1, profile_steps=1)
    assert modes == [{True}] and row.infer_samples_per_s > 0  # inference timed as well


def test_throughput_halves_the_batch_on_out_of_memory(monkeypatch):
    real = tp.measure

    def fake(name, batch_size, image_size=None, **kw):
        if batch_size > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate ...")
        return real(name, batch_size, image_size, **kw)

    monkeypatch.setattr(tp, "measure", fake)
    rows = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=1)
    assert rows[0]["batch_size"] == 2 and "halved" in rows[0]["note"]


def test_throughput_profile_names_where_the_step_time_goes(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.csv"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--profile", "1",
                                      "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "tp-profile-lenet_modern.txt").read_text()
    assert "convolution" in table and "batch_norm" in table
    assert "profile" not in out.read_text().splitlines()[0]  # the CSV stays flat


def test_throughput_compares_optimizers_against_the_first(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--device", "cpu",
                                      "--optimizer", "nesterov", "--optimizer", "muon",
                                      "--profile", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert [r["optimizer"] for r in rows] == ["nesterov", "muon"]
    assert rows[0]["note"] == "" and rows[0]["train_speed_ratio"] is None
    # One sense for every ratio: images/s over the reference's, above 1 faster.
    assert rows[1]["ratio_vs"] == "nesterov" and rows[1]["note"] == ""
    assert rows[1]["train_speed_ratio"] == pytest.approx(
        rows[1]["train_samples_per_s"] / rows[0]["train_samples_per_s"])
    # one profile per optimizer, neither overwriting the other
    assert "bmm" in (tmp_path / "tp-profile-lenet_modern-muon.txt").read_text()
    assert "bmm" not in (tmp_path / "tp-profile-lenet_modern-nesterov.txt").read_text()


def test_a_throughput_sweep_cut_short_keeps_every_measured_row(tmp_path, monkeypatch):
    # `timeout` on a rented GPU sends SIGTERM: the rows measured so far are in the file
    # (each stored as it came), and a model that fails is a row, not the end of the sweep.
    import os
    import signal

    from typer.testing import CliRunner

    from cnnlab.cli import app

    real, calls = tp.measure, []

    def measure(name, *args, **kw):
        calls.append(name)
        if name == "lenet_d2l":
            raise RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR\n(a second line)")
        if name == "lenet_modern":
            os.kill(os.getpid(), signal.SIGTERM)
        return real(name, *args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.csv"
    args = ["bench", "throughput", "--models", "lenet_bn,lenet_d2l,lenet_modern,nin_d2l",
            "--batch-size", "2", "--steps", "1", "--device", "cpu", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 143, result.output  # SIGTERM: 128 + 15
    assert calls == ["lenet_bn", "lenet_d2l", "lenet_modern"]  # stopped at the signal
    rows = out.read_text().splitlines()
    assert len(rows) == 3 and rows[1].startswith("lenet_bn,") and float(rows[1].split(",")[3])
    assert "failed: RuntimeError: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR (a second line)" \
        in rows[2]
    assert "2 of 4 rows measured" in result.output
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was


def test_throughput_times_on_the_threads_asked_for_and_puts_them_back(monkeypatch, tmp_path):
    # On a busy CPU torch's one thread per core made the first model timed 40x slower
    # than --threads 1 does; the count is the process's again afterwards.
    import torch
    from typer.testing import CliRunner

    from cnnlab.cli import app

    before, seen = torch.get_num_threads(), []
    real = tp.measure

    def measure(*args, **kw):
        seen.append(torch.get_num_threads())
        return real(*args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--batch-size", "2", "--steps", "1", "--device", "cpu",
                                      "--no-infer", "--threads", str(before + 1),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert seen == [before + 1] and torch.get_num_threads() == before
    # The file says the threads the rows ran on (it said the process's, put back first).
    assert json.loads(out.read_text())["environment"]["torch_threads"] == before + 1


def test_throughput_measures_the_plain_step_as_its_baseline_in_the_same_run(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    args = ["bench", "throughput", "--models", "lenet_modern", "--batch-size", "4",
            "--steps", "1", "--device", "cpu", "--channels-last", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    base, row = json.loads(out.read_text())["rows"]
    assert base["baseline"] and not base["channels_last"] and base["amp"] == "off"
    assert not row["baseline"] and row["channels_last"]
    ratio = row["train_samples_per_s"] / base["train_samples_per_s"]
    assert row["train_speed_ratio"] == pytest.approx(ratio) and row["ratio_vs"] == "baseline"
    lo, hi = row["train_speed_ratio_min"], row["train_speed_ratio_max"]
    assert lo * (1 - 1e-9) <= row["train_speed_ratio"] <= hi * (1 + 1e-9)  # one step: equal
    assert row["note"] == ""
    assert base["note"] == "baseline: fp32, NCHW, eager"
    assert CliRunner().invoke(app, [*args, "--no-baseline"]).exit_code == 0
    assert len(json.loads(out.read_text())["rows"]) == 1


def test_throughput_times_a_model_with_its_options(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    args = ["bench", "throughput", "--models", "speednet_wide", "--batch-size", "2",
            "--steps", "1", "--device", "cpu", "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    plain = json.loads(out.read_text())["rows"][0]
    result = CliRunner().invoke(app, [*args, "--override", "convs_per_stage=[2, 2, 2]"])
    assert result.exit_code == 0, result.output
    deeper = json.loads(out.read_text())["rows"][0]
    assert json.loads(deeper["model_overrides"]) == {"convs_per_stage": [2, 2, 2]}
    assert deeper["train_tflops"] / deeper["train_samples_per_s"] > \
        plain["train_tflops"] / plain["train_samples_per_s"]  # more MACs per image
    typo = CliRunner().invoke(app, [*args, "--override", "conv_per_stage=[2, 2, 2]"])
    assert typo.exit_code == 2 and "Did you mean: convs_per_stage" in typo.output


def test_throughput_interrupted_before_any_row_exits_130(monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tp, "measure", interrupted)
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--device", "cpu"])
    assert result.exit_code == 130 and "before the first model" in result.output


def test_throughput_can_time_training_alone(tmp_path):
    # A training-speed goal needs no inference: compiled, it is a second compilation.
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--device", "cpu",
                                      "--no-infer", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    [row] = json.loads(out.read_text())["rows"]
    assert row["train_samples_per_s"] > 0 and row["infer_samples_per_s"] is None
    assert "infer - img/s" in result.output


def test_a_failed_baseline_leaves_no_nan_ratio_and_the_json_stays_strict(tmp_path,
                                                                          monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    real = tp.measure

    def measure(name, *args, **kw):
        if not kw.get("channels_last"):  # the baseline (plain) step fails
            raise RuntimeError("no kernel for this")
        return real(name, *args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, [
        "bench", "throughput", "--models", "speednet_wide", "--batch-size", "2", "--steps",
        "1", "--device", "cpu", "--channels-last", "--override", "widths=[8, 16, 32]",
        "--out", str(out)])
    assert result.exit_code == 1, result.output  # a failed row fails the command

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    base, row = json.loads(out.read_text(), parse_constant=refuse)["rows"]
    assert base["train_samples_per_s"] is None and base["note"].startswith("failed")
    assert json.loads(base["model_overrides"]) == {"widths": [8, 16, 32]}
    assert row["train_samples_per_s"] > 0 and "nan" not in row["note"]


def test_a_row_gives_the_median_step_and_the_fastest_and_slowest(monkeypatch):
    # The whole run's time over its steps let one slow step move the number, and nothing
    # said how far the steps spread.
    steps = [0.010, 0.012, 0.011, 0.030, 0.009]
    monkeypatch.setattr(tp, "step_seconds", lambda fn, n, device: steps[:n])
    [row] = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=5)
    assert row["train_step_ms"] == pytest.approx(11.0)  # the median; the mean is 14.4
    assert row["train_samples_per_s"] == pytest.approx(8 / 0.011)
    assert (row["train_step_ms_min"], row["train_step_ms_max"]) == pytest.approx((9, 30))
    assert row["infer_step_ms"] == pytest.approx(11.0) and row["timed_steps"] == 5


def test_step_seconds_times_each_step():
    calls = []
    times = tp.step_seconds(lambda: calls.append(1), 3, torch.device("cpu"))
    assert len(times) == 3 == len(calls) and all(t >= 0 for t in times)


def test_peak_memory_off_cuda_is_empty_in_the_table_csv_and_json_alike(tmp_path):
    # On a CPU the table printed '-' while the CSV said 711.9 (MiB, headed MB) for the
    # same row: the process's lifetime peak resident set, no model's.
    import csv

    from typer.testing import CliRunner

    from cnnlab.cli import app

    assert tp.peak_memory_mib(torch.device("cpu")) is None
    args = ["bench", "throughput", "--models", "lenet_d2l", "--batch-size", "4", "--steps",
            "1", "--device", "cpu", "--out"]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "tp.csv")],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    with open(tmp_path / "tp.csv", encoding="utf-8", newline="") as fh:
        [stored] = list(csv.DictReader(fh))
    assert stored["peak_memory_mib"] == "" and "peak_memory_mb" not in stored
    assert "peak MiB" in result.output and "peak MB" not in result.output
    assert "n/a" in result.output
    result = CliRunner().invoke(app, [*args, str(tmp_path / "tp.json")])
    assert result.exit_code == 0, result.output
    [row] = json.loads((tmp_path / "tp.json").read_text())["rows"]
    assert row["peak_memory_mib"] is None


def _table_text(rows, dev="cpu"):
    from rich.console import Console

    from cnnlab.cli.throughput import _compare, throughput_table

    compared = []
    for r in rows:
        _compare(r, compared, "sgd")
        compared.append(r)
    console = Console(record=True, width=300)
    console.print(throughput_table(compared, dev, 5))
    return " ".join(console.export_text().split()), compared


def test_the_table_says_which_rows_ran_which_setting_to_three_figures():
    text, rows = _table_text([
        _row(baseline=True),
        _row(channels_last=True, train_samples_per_s=10_545.0, train_step_ms=6.07,
             train_step_ms_min=5.9, train_step_ms_max=6.5, train_tflops=0.020)])
    # A 'setting' column tells the NCHW baseline from the channels_last (NHWC) row; the
    # title no longer says 'channels_last True' over both.
    assert "setting" in text and "channels_last True" not in text
    assert "fp32, NCHW, eager" in text and "fp32, NHWC, eager" in text
    assert "9,500" in text and "9,501" not in text and "41,000" in text  # 3 figures
    assert "6.74 (6.1-7.93)" in text  # median step and its range, ms
    # 0.018 TFLOP/s reads as 18.2 GFLOP/s, and the caption says how FLOPs are counted.
    assert "train GFLOP/s" in text and "18.2" in text and "0.018" not in text
    assert "6 x forward MACs" in text
    # One sense for the ratio: img/s over the baseline's, with the range the steps allow.
    ratio = rows[1]["train_speed_ratio"]
    assert ratio == pytest.approx(10_545.0 / 9501.146)
    assert f"1.1x baseline ({6.1 / 6.5:.2g}-{7.93 / 5.9:.2g})" in text
    assert "the baseline's img/s" not in text and "time per image" not in text


def test_a_ratio_of_one_keeps_its_decimal():
    # '1x sgd (0.97-1.1)': a bare 1 read as rounded from anything.
    from cnnlab.cli.throughput import _speed

    row = {"train_speed_ratio": 1.0, "ratio_vs": "sgd", "train_speed_ratio_min": 0.97,
           "train_speed_ratio_max": 1.1}
    assert _speed(row) == "1.0x sgd (0.97-1.1)"
    assert _speed({**row, "train_speed_ratio": 12.34}).startswith("12x sgd")


def test_a_ratio_across_batch_sizes_says_so_beside_it():
    # After an out-of-memory retry halved a row's batch, "1.7x baseline" compared batch
    # 16 with batch 64 and only a note said the batch was halved.
    text, rows = _table_text([
        _row(baseline=True, batch_size=64),
        _row(amp="bf16", batch_size=16, train_samples_per_s=16_000.0, note="batch halved")])
    assert rows[1]["ratio_vs"] == "baseline (its batch 64, this one 16)"
    assert "x baseline (its batch 64, this one 16)" in text


def test_the_flops_unit_follows_the_magnitude():
    from cnnlab.cli.throughput import _flops_unit

    assert _flops_unit([_row(train_tflops=103.2)]) == ("TFLOP/s", 1e12)
    assert _flops_unit([_row(train_tflops=0.0182)]) == ("GFLOP/s", 1e9)
    assert _flops_unit([_row(train_tflops=math.nan)]) == ("MFLOP/s", 1e6)
    text, _ = _table_text([_row(train_tflops=103.2, peak_memory_mib=2048.4)], dev="cpu")
    assert "train TFLOP/s" in text and "103" in text and "2,050" in text


def test_on_cuda_steps_are_timed_by_events_without_stalling_the_device(monkeypatch):
    # No GPU here: fake events that stand at 0, 10, 22, 31 ms on the device's clock.
    clock, synced = iter([0.0, 10.0, 22.0, 31.0]), []

    class Event:
        def __init__(self, enable_timing=False):
            assert enable_timing

        def record(self):
            self.at = next(clock)

        def elapsed_time(self, later):
            return later.at - self.at

    monkeypatch.setattr(torch.cuda, "Event", Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(1))
    steps = []
    times = tp.step_seconds(lambda: steps.append(len(synced)), 3, torch.device("cuda"))
    assert times == pytest.approx([0.010, 0.012, 0.009])
    assert steps == [0, 0, 0] and synced == [1]  # one synchronisation, after the last step


def test_a_narrow_terminal_goes_first_without_the_empty_columns_and_says_so():
    from rich.console import Console

    from cnnlab.cli.throughput import throughput_table

    rows = [_row(baseline=True), _row(model="resnext50_32x4d_small", input_size="1x28x28")]
    console = Console(record=True, width=80)
    console.print(throughput_table(rows, "cpu", 5, width=80))
    text = console.export_text()
    table = text.split("Median of")[0]
    assert all(len(line.rstrip()) <= 80 for line in table.splitlines()), text
    assert "resnext50_32x4d_small" in table and "9,500" in table  # whole, not folded
    caption = " ".join(text.split("Median of")[1].split())
    assert "not shown at 80 columns: note, peak MiB" in caption, text
    wide = Console(record=True, width=300)
    wide.print(throughput_table(rows, "cpu", 5, width=300))
    wide_text = wide.export_text()
    assert "not shown" not in wide_text and "peak MiB" in wide_text
