"""The memory and pooling benches' numbers against hand-computed ones (mutation testing,
session 40): which step times a median is over, the ratios to the plain model and to
PyTorch, and the pooling table's cells under their headers."""

import pytest
import torch
from torch import nn

from cnnlab.bench import memory, pooling


def test_step_times_are_medians_after_a_warm_up_with_the_models_interleaved(monkeypatch):
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    # seconds of each of a model's steps after the warm-up: medians 3.0 and 5.0
    # (min 1 and 2, means 4 and 14/3)
    durations = {id(a): iter([100.0, 3.0, 1.0, 8.0]), id(b): iter([100.0, 7.0, 5.0, 2.0])}
    order, now = [], [0.0]

    def fake_step(model, opt, x, y):
        order.append("a" if model is a else "b")
        now[0] += next(durations[id(model)])

    monkeypatch.setattr(memory, "_train_step", fake_step)
    monkeypatch.setattr(memory.time, "perf_counter", lambda: now[0])
    times = memory._step_times([a, b], torch.zeros(1, 2), torch.zeros(1), steps=3)
    assert times == [3.0, 5.0]  # the warm-up's 100 s in neither
    assert order == ["a", "b"] * 4  # one warm-up each, then round by round


def test_memory_rows_are_ratios_to_the_plain_model(monkeypatch):
    saved = iter([(3 * 2**20, None), (2**20, None)])
    monkeypatch.setattr(memory, "saved_activation_bytes", lambda *a: next(saved))
    threads = []

    def fake_times(models, x, y, steps):
        threads.append(torch.get_num_threads())
        return [0.2, 0.3]

    monkeypatch.setattr(memory, "_step_times", fake_times)
    before = torch.get_num_threads()
    asked = before + 1  # not the current count, whatever OMP_NUM_THREADS made it
    plain, efficient = memory.run_densenet_memory_bench("densenet_d2l", batch_size=2,
                                                        image_size=32, steps=1,
                                                        num_threads=asked)
    assert threads == [asked] and torch.get_num_threads() == before  # set, then restored
    assert (plain["saved_mib"], efficient["saved_mib"]) == (3.0, 1.0)
    assert (plain["step_s"], efficient["step_s"]) == (0.2, 0.3)
    assert plain["memory_vs_plain"] == plain["time_vs_plain"] == 1.0
    assert efficient["memory_vs_plain"] == pytest.approx(1 / 3)
    assert efficient["time_vs_plain"] == pytest.approx(1.5)
    # both start from the same weights: the same function to float precision
    assert efficient["max_abs_logit_diff"] < 1e-5 and efficient["max_abs_grad_diff"] < 1e-5


def test_pooling_rows_put_ours_over_pytorchs_forward_and_training(monkeypatch):
    calls = []

    def fake_time_calls(fns, repeats):
        calls.append(fns)
        # forward: ours 6 ms, torch 2 ms; forward + backward: ours 10 ms, torch 4 ms
        return ({"ours": 0.006, "torch": 0.002} if len(calls) % 2 else
                {"ours": 0.010, "torch": 0.004})

    monkeypatch.setattr(pooling, "time_calls", fake_time_calls)
    rows = pooling.bench_pooling(repeats=1, quick=True)
    assert len(rows) == len(pooling.CASES)
    row = rows[0]
    assert (row["torch_ms"], row["scratch_ms"]) == pytest.approx((2.0, 6.0))
    assert (row["torch_train_ms"], row["scratch_train_ms"]) == pytest.approx((4.0, 10.0))
    assert row["ratio"] == pytest.approx(3.0) and row["train_ratio"] == pytest.approx(2.5)
    assert row["input"] == "2x4x28x28"  # quick: batch 2, 4 channels
    # "ours" is the from-scratch op: the fast 2x2 max pool of the first case
    assert calls[0]["ours"].func is pooling.CASES[0][2]


def test_a_pooling_training_call_backpropagates_to_the_input():
    grads = []

    def op(x):
        x.register_hook(grads.append)  # runs when backward reaches the input
        return 2 * x

    pooling._training_call(op, torch.ones(3))()
    assert len(grads) == 1 and torch.equal(grads[0], torch.full((3,), 2.0))


def test_the_pooling_table_has_each_number_under_its_header():
    row = {"op": "max", "input": "2x4x8x8", "torch_ms": 1.0, "scratch_ms": 3.0, "ratio": 3.0,
           "torch_train_ms": 2.0, "scratch_train_ms": 5.0, "train_ratio": 2.5}
    table = pooling.pooling_table([row], threads=1)
    cells = {c.header: list(c.cells)[0] for c in table.columns}
    assert [c.header for c in table.columns][4] == "ratio"
    assert [list(c.cells)[0] for c in table.columns] == [
        "max", "2x4x8x8", "1.00", "3.00", "3.00x", "2.00", "5.00", "2.50x"]
    assert cells["torch fwd"] == "1.00" and cells["scratch fwd+bwd"] == "5.00"
