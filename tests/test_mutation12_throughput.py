"""The throughput bench's arithmetic against hand-computed numbers (mutation testing,
session 37): FLOP/s from the model's MACs, warm-up steps outside the clock, the device
waited for before the clock starts, the op benches' best time, and the speed ratio's
range across batch sizes."""

import math

import pytest
import torch
from throughput_helpers import throughput_row as _row

from cnnlab.bench import throughput as tp

# lenet_d2l on 28x28: conv 6x28x28x25 + conv 16x10x10x150 + fc 400x120 + 120x84 + 84x10
LENET_MACS = 117_600 + 240_000 + 48_000 + 10_080 + 840


def test_training_flops_are_six_times_the_forward_macs_per_image_times_images_per_s(
        monkeypatch):
    # Training: median 25 ms, batch 8 -> 320 images/s; inference: median 10 ms -> 800.
    phases = iter([[0.020, 0.025, 0.040], [0.005, 0.010, 0.016]])
    monkeypatch.setattr(tp, "step_seconds", lambda fn, n, device: next(phases))
    [row] = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=3, warmup=0)
    assert row["train_samples_per_s"] == pytest.approx(320.0)
    assert row["infer_samples_per_s"] == pytest.approx(800.0)
    assert row["infer_step_ms"] == pytest.approx(10.0)
    assert row["train_tflops"] == pytest.approx(6 * LENET_MACS * 320.0 / 1e12, rel=1e-12)
    assert (row["train_step_ms"], row["train_step_ms_min"], row["train_step_ms_max"]) == \
        pytest.approx((25.0, 20.0, 40.0))
    assert (row["infer_step_ms_min"], row["infer_step_ms_max"]) == pytest.approx((5.0, 16.0))
    assert row["timed_steps"] == 3


def test_warm_up_steps_run_before_the_clock_and_the_device_is_waited_for(monkeypatch):
    events = []
    build = tp.build_optimizer

    def counted_optimizer(model, cfg):
        opt = build(model, cfg)
        step = opt.step
        opt.step = lambda *a, **k: (events.append("step"), step(*a, **k))[1]
        return opt

    def fake_steps(fn, n, device):
        events.append("clock")
        return [0.01] * n

    monkeypatch.setattr(tp, "build_optimizer", counted_optimizer)
    monkeypatch.setattr(tp, "step_seconds", fake_steps)
    monkeypatch.setattr(tp, "synchronize", lambda dev: events.append("sync"))
    tp.measure("lenet_d2l", 4, device="cpu", warmup=3, steps=2, infer=False)
    # Three training steps un-timed (cudnn's autotuning, a compile), the queue drained,
    # then the clock: the warm-up never counts in the median.
    assert events == ["step", "step", "step", "sync", "clock"]


def test_the_op_benches_keep_each_calls_best_time(monkeypatch):
    from cnnlab.bench import timing

    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # rounds: 3 s, 1 s, 2 s
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    calls = []
    assert timing.time_calls({"a": lambda: calls.append(1)}, repeats=3) == {"a": 1.0}
    assert len(calls) == 4  # one warm-up call, untimed, then one per round


def test_the_speed_ratio_and_its_range_are_per_image_across_batch_sizes():
    from cnnlab.cli.throughput import _compare

    base = _row(baseline=True, batch_size=64, train_samples_per_s=6400.0,
                train_step_ms=10.0, train_step_ms_min=9.0, train_step_ms_max=12.0)
    half = _row(amp="bf16", batch_size=32, train_samples_per_s=6400.0,
                train_step_ms=5.0, train_step_ms_min=4.0, train_step_ms_max=6.0)
    _compare(base, [], "sgd")
    _compare(half, [base], "sgd")
    # 32 images per 4-6 ms against 64 per 9-12 ms: 0.5 x 9/6 = 0.75 to 0.5 x 12/4 = 1.5.
    assert half["train_speed_ratio"] == pytest.approx(1.0)
    assert (half["train_speed_ratio_min"], half["train_speed_ratio_max"]) == \
        pytest.approx((0.75, 1.5))


def test_the_flops_unit_changes_at_exactly_one_tflop_per_second():
    from cnnlab.cli.throughput import _flops_unit

    assert _flops_unit([_row(train_tflops=1.0)]) == ("TFLOP/s", 1e12)
    assert _flops_unit([_row(train_tflops=0.001)]) == ("GFLOP/s", 1e9)
    # The largest row picks the unit: a table's column has one.
    assert _flops_unit([_row(train_tflops=0.5), _row(train_tflops=2.0)]) == ("TFLOP/s", 1e12)
    assert _flops_unit([_row(train_tflops=math.nan), _row(train_tflops=0.002)]) == \
        ("GFLOP/s", 1e9)


def test_out_of_memory_halves_the_batch_each_time(monkeypatch):
    tried = []

    def fake(name, batch_size, image_size=None, **kw):
        tried.append(batch_size)
        if batch_size > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate ...")
        return tp.ThroughputRow(name, "1x28x28", batch_size, 1.0, 1.0, 1.0, 1.0, None, 0.0,
                                "off", False, False, "cpu")

    monkeypatch.setattr(tp, "measure", fake)
    [row] = tp.benchmark(["lenet_d2l"], batch_size=12, device="cpu")
    assert tried == [12, 6, 3] and row["batch_size"] == 3
    assert row["note"] == "out of memory at batch 6; halved"


def test_each_cpu_step_waits_for_the_device_before_its_clock_stops(monkeypatch):
    from cnnlab.bench import timing

    events = []
    clock = iter(range(100))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: events.append("t") or next(clock))
    monkeypatch.setattr(timing, "synchronize", lambda device: events.append("sync"))
    times = timing.step_seconds(lambda: events.append("step"), 2, torch.device("cpu"))
    assert events == ["t", "step", "sync", "t"] * 2 and times == [1, 1]


def test_a_padded_stem_counts_the_models_macs_not_the_zero_channels(monkeypatch):
    monkeypatch.setattr(tp, "step_seconds", lambda fn, n, device: [0.025] * n)
    plain = tp.measure("resnet18_d2l", 2, 32, device="cpu", steps=1, warmup=0, infer=False)
    padded = tp.measure("resnet18_d2l", 2, 32, device="cpu", steps=1, warmup=0,
                        infer=False, pad_stem=4)
    assert padded.pad_stem == 4 and padded.note == ""
    assert padded.train_tflops == pytest.approx(plain.train_tflops, rel=1e-12)


def test_each_model_is_compared_with_its_own_baseline():
    from cnnlab.cli.throughput import _compare

    rows = []
    for r in (_row(model="lenet_bn", baseline=True, train_samples_per_s=1000.0),
              _row(model="lenet_bn", amp="bf16", train_samples_per_s=2000.0),
              _row(model="resnet18_d2l", baseline=True, train_samples_per_s=100.0),
              _row(model="resnet18_d2l", amp="bf16", train_samples_per_s=300.0)):
        _compare(r, rows, "sgd")
        rows.append(r)
    assert [r["train_speed_ratio"] for r in rows] == pytest.approx([None, 2.0, None, 3.0])
