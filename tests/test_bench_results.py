"""What the benches store and how they time: one record of the machine per result file,
NaN as null, one device synchronisation, one out-of-memory rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from cnnlab.bench import results
from cnnlab.bench import throughput as tp
from cnnlab.cli import app
from cnnlab.train.device import is_out_of_memory


def test_a_result_file_holds_one_machine_record_with_the_device_and_load(tmp_path,
                                                                         tiny_fashion):
    # `bench loader --out` wrote the machine twice: runlog's environment and its own
    # bench_environment, each with fields the other lacked.
    tiny = tiny_fashion(tmp_path / "fm", n_train=64, n_test=10)
    out = tmp_path / "loader.json"
    result = CliRunner().invoke(app, [
        "bench", "loader", "--data-root", str(tiny.directory), "--resize", "16",
        "--batch-size", "32", "--workers", "0", "--epochs", "1", "--no-augment",
        "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert set(written) == {"rows", "environment"}
    env = written["environment"]
    assert env["device"] == "cpu" and "load_average" in env
    assert {"torch", "numpy", "cpu_model", "cpu_count", "torch_threads", "command",
            "cnnlab"} <= set(env)
    assert "load_average" in result.output and "device cpu" in result.output
    # --threads is the DeviceLoader's: the footer said only the process's own count.
    assert "(DeviceLoader: 1)" in result.output


def test_json_rows_write_nan_as_null(tmp_path):
    results.write_json(tmp_path / "r.json", [{"a": float("nan"), "b": [float("inf"), 1.0]}])
    assert json.loads((tmp_path / "r.json").read_text())["rows"] == [{"a": None,
                                                                      "b": [None, 1.0]}]


def test_the_cpu_allocators_failure_halves_the_batch_too(monkeypatch):
    # Only CUDA's "out of memory" halved the batch; a CPU that cannot allocate failed
    # the model outright.
    real = tp.measure

    def fake(name, batch_size, image_size=None, **kw):
        if batch_size > 2:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. "
                               "DefaultCPUAllocator: can't allocate memory: you tried to "
                               "allocate 1125899906842624 bytes.")
        return real(name, batch_size, image_size, **kw)

    monkeypatch.setattr(tp, "measure", fake)
    [row] = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=1)
    assert row["batch_size"] == 2 and "halved" in row["note"]


@pytest.mark.parametrize("message, oom", [
    ("CUDA error: out of memory", True),
    ("MPS backend out of memory (MPS allocated: 1 GB)", True),
    ("DefaultCPUAllocator: not enough memory: you tried to allocate 4 bytes", True),
    ("mat1 and mat2 shapes cannot be multiplied", False),
])
def test_what_counts_as_out_of_memory(message, oom):
    assert is_out_of_memory(RuntimeError(message)) is oom


def test_the_loader_bench_waits_for_an_mps_device_before_reading_the_clock(monkeypatch):
    # The loader's own synchronise knew CUDA only: on a Mac it timed the queueing.
    from cnnlab.bench import loader

    waited = []
    monkeypatch.setattr(torch.mps, "synchronize", lambda: waited.append(1))
    seconds, images = loader._time_epoch([(torch.zeros(4, 1), None)] * 3,
                                         torch.device("mps"))
    assert images == 12 and len(waited) == 2  # before the clock starts, and after


def test_the_recorded_command_can_be_typed_again(monkeypatch):
    # Run as `python -m cnnlab`, it read "__main__.py design run ..."; an argument
    # holding spaces lost its quotes.
    import cnnlab
    from cnnlab.train.machine import command_line

    main = str(Path(cnnlab.__file__).parent / "__main__.py")
    monkeypatch.setattr(sys, "argv", [main, "bench", "throughput", "--override",
                                      "convs_per_stage=[2, 2, 2]"])
    assert command_line() == ("python -m cnnlab bench throughput --override "
                              "'convs_per_stage=[2, 2, 2]'")
    monkeypatch.setattr(sys, "argv", ["/usr/bin/cnnlab", "train", "lenet_modern"])
    assert command_line() == "cnnlab train lenet_modern"
    # A torchrun job's process: typed again as `python -m cnnlab`, it trained on one.
    monkeypatch.setattr(sys, "argv", [main, "train", "lenet_modern"])
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert command_line() == "torchrun --nproc_per_node=2 -m cnnlab train lenet_modern"
