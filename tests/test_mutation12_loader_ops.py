"""The loader and op benches' ratios against hand-computed numbers (mutation testing,
session 37): each phase's best over the repeats, images/s, the speed-up over the
book's fastest epoch, and the grouped convolution's multiply-adds and speed-ups."""

import pytest
import torch

from cnnlab.bench import loader as lb
from cnnlab.bench import ops


def test_loader_rows_keep_each_phases_best_and_divide_by_the_books_fastest_epoch(
        monkeypatch):
    # Per pipeline, two repeats: (setup, epoch 1, epoch 2) seconds, 64 images an epoch.
    times = iter([
        (0.0, 4.0, 2.0), (0.5, 1.0, 0.5), (0.6, 2.0, 1.0), (0.7, 4.0, 2.0),  # repeat 1
        (0.0, 3.0, 2.5), (0.4, 2.0, 0.8), (0.6, 1.0, 1.0), (0.9, 4.0, 4.0),  # repeat 2
    ])

    def fake_measure(make, epochs, device):
        setup, e1, e2 = next(times)
        return {"setup": (setup, 0), "epoch 1": (e1, 64), "epoch 2": (e2, 64)}

    monkeypatch.setattr(lb, "_measure_once", fake_measure)
    data = (torch.zeros(64, 1, 8, 8, dtype=torch.uint8), torch.zeros(64, dtype=torch.long))
    rows = lb.run_loader_bench(resize=8, batch_size=32, workers=0, epochs=2, repeats=2,
                               threads=1, data=data)
    got = {(r["pipeline"], r["phase"]): r for r in rows}
    book = got[(lb.BOOK, "epoch 2")]  # the book's fastest epoch: 2.0 s (repeat 1's)
    assert book["seconds"] == 2.0 and book["speedup"] is None
    assert book["images_per_s"] == pytest.approx(32.0)
    cached = [r for r in rows if r["pipeline"].endswith("resize cache)")]
    by_phase = {r["phase"]: r for r in cached}
    assert by_phase["setup"]["seconds"] == 0.4 and by_phase["setup"]["speedup"] is None
    assert by_phase["setup"]["images_per_s"] is None
    assert by_phase["epoch 1"]["seconds"] == 1.0 and by_phase["epoch 1"]["speedup"] == 2.0
    assert by_phase["epoch 2"]["seconds"] == 0.5 and by_phase["epoch 2"]["speedup"] == 4.0
    assert by_phase["epoch 2"]["images_per_s"] == pytest.approx(128.0)
    assert (lb.BOOK, "setup") not in got


def test_grouped_convolutions_count_their_macs_and_speed_ups_against_one_group(
        monkeypatch):
    ms = iter([{"torch": 8.0, "scratch": 12.0, "auto_method": "x", "fft": 20.0},
               {"torch": 2.0, "scratch": 4.0, "auto_method": "x", "fft": 10.0}])
    monkeypatch.setattr(ops, "_forward_times", lambda *a: next(ms))
    rows = ops.bench_groups(groups=(1, 4), channels=8, image=4, batch=2, kernel=3)
    # 2 images x 4x4 outputs x 8 channels x (8 / g) inputs x 3x3
    assert [r["macs_m"] for r in rows] == pytest.approx([2 * 16 * 8 * 8 * 9 / 1e6,
                                                         2 * 16 * 8 * 2 * 9 / 1e6])
    assert [r["ideal_speedup"] for r in rows] == [1.0, 4.0]
    assert (rows[1]["torch_speedup"], rows[1]["scratch_speedup"], rows[1]["fft_speedup"]) \
        == (4.0, 3.0, 2.0)
    assert rows[0]["torch_speedup"] == 1.0


def test_the_target_rows_are_ours_over_pytorchs(monkeypatch):
    monkeypatch.setattr(ops, "_forward_times", lambda *a: {
        "torch": 2.0, "scratch": 6.0, "auto_method": "x", "shift": 7.0, "unfold": 9.0})
    monkeypatch.setattr(ops, "time_calls", lambda calls, repeats: {"torch": 0.004,
                                                                    "scratch": 0.010})
    [row] = ops.bench_target(batch=2, channels=4, image_sizes=(8,))
    assert row["ratio"] == 3.0 and row["train_ratio"] == pytest.approx(2.5)
    assert (row["torch_train_ms"], row["scratch_train_ms"]) == pytest.approx((4.0, 10.0))
