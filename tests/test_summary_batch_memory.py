"""`cnnlab summary` at a batch whose layer outputs the free memory cannot hold: counted
on the meta device, with a note (VGG-11 at batch 100,000 ended in the allocator's own
"DefaultCPUAllocator: can't allocate memory: you tried to allocate 60211200000 bytes";
a batch that fits the overcommit was filled until the system killed the process)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import cnnlab.data.memory as memory
from cnnlab.cli import app


def _summary(monkeypatch, free: int, *args: str):
    monkeypatch.setattr(memory, "available_memory", lambda device: free)
    return CliRunner().invoke(app, ["summary", "lenet_d2l", *args], env={"COLUMNS": "200"})


def test_a_batch_memory_cannot_hold_is_counted_without_running_it(monkeypatch):
    result = _summary(monkeypatch, 10**6, "--batch-size", "1000", "--json")
    assert result.exit_code == 0, result.output
    note = result.stderr
    assert "note: at batch 1,000 the input and layer outputs take" in note, note
    assert "this machine has 977 KiB free: counted without running it" in note, note
    said = json.loads(result.stdout)
    # The same counts as a real run gives (lenet_d2l: 416,520 MACs an image)
    assert said["totals"]["macs"] == 416_520_000
    assert said["totals"]["training_activation_bytes"] is None


def test_a_batch_that_fits_is_run_as_before(monkeypatch):
    result = _summary(monkeypatch, 2**40, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
    assert "saved for backward, train mode" in result.stdout


def test_the_layer_outputs_count_not_the_input_alone(monkeypatch):
    # lenet_d2l at batch 1,000: 3.0 MiB of input, ~56 MiB of layer outputs; 20 MiB free
    result = _summary(monkeypatch, 20 * 2**20, "--batch-size", "1000")
    assert result.exit_code == 0, result.output
    assert "counted without running it" in result.stderr, result.stderr
