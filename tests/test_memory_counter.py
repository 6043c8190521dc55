"""One counter of training activations: `cnnlab summary` and `cnnlab bench memory` give
one number for one model and input (they had two counters, 21,253,696 and 21,646,912
bytes for densenet_d2l at 8x3x64x64: the second counted the input batch)."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.bench.memory import run_densenet_memory_bench
from cnnlab.inspect import saved_activation_bytes, summary


def test_summary_and_bench_memory_count_the_same_bytes():
    batch, side = 2, 32
    counted = summary("densenet_d2l", (3, side, side), batch_size=batch)
    [plain, _] = run_densenet_memory_bench("densenet_d2l", batch_size=batch,
                                           image_size=side, steps=1)
    assert plain["saved_bytes"] == counted.totals.training_activation_bytes
    assert counted.totals.training_pass_mode == "train"


def test_the_input_parameters_and_views_of_one_storage_are_not_counted():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.randn(3, 4)
    hidden = 3 * 8 * 4  # the first layer's output, saved by ReLU (and its view by Linear)
    with_input, _ = saved_activation_bytes(net, lambda: net(x))
    without, out = saved_activation_bytes(net, lambda: net(x), (x,))
    assert with_input - without == x.numel() * 4  # the input, counted only when not excluded
    assert without == hidden
    out.sum().backward()  # the output keeps its graph
    assert net[0].weight.grad is not None


def test_summary_and_bench_memory_print_the_count_in_one_unit(monkeypatch):
    # summary wrote the training activations in decimal MB (5.64 MB), bench memory in
    # MiB with the unit in every cell (5.4 MiB): one count read as two numbers.
    from typer.testing import CliRunner

    import cnnlab.bench.memory as memory
    from cnnlab.cli import app
    from cnnlab.formatting import format_bytes

    saved = 5_641_216  # densenet121 at 2x3x32x32
    rows = [{"variant": v, "saved_mib": saved * f / 2**20, "memory_vs_plain": f,
             "step_s": 0.07, "time_vs_plain": 1.0, "max_abs_logit_diff": 0.0,
             "max_abs_grad_diff": 0.0} for v, f in (("plain", 1.0), ("memory_efficient", 0.5))]
    monkeypatch.setattr(memory, "run_densenet_memory_bench", lambda **kw: rows)
    result = CliRunner().invoke(app, ["bench", "memory"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "saved activations MiB" in result.output and "step ms" in result.output
    assert " 5.4 " in result.output and "5.4 MiB" not in result.output  # the unit: header
    assert format_bytes(saved) == "5.38 MiB"  # what summary writes for the same bytes
