"""`cnnlab summary`'s memory guards at their boundaries (cnnlab.cli.summary_memory):
the weights refused only past the free memory, a batch counted on the meta device only
where one and a half times its input and layer outputs do not fit. Numbers by hand for lenet_d2l."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnnlab.data.memory as memory
from cnnlab.cli import app

# lenet_d2l: 156 + 2,416 + 48,120 + 10,164 + 850 parameters, float32.
WEIGHT_BYTES = 61_706 * 4
# At batch 4: the input 4x1x28x28, and its layers' outputs (conv, sigmoid 6x28x28;
# pool 6x14x14; conv, sigmoid 16x10x10; pool 16x5x5; linear, sigmoid 120, 84; linear 10).
INPUT_BYTES = 4 * 784 * 4
OUTPUT_BYTES = 4 * 4 * (2 * 4704 + 1176 + 2 * 1600 + 400 + 2 * 120 + 2 * 84 + 10)


def _summary(monkeypatch, free: int, *args: str):
    monkeypatch.setattr(memory, "available_memory", lambda device: free)
    return CliRunner().invoke(app, ["summary", "lenet_d2l", *args], env={"COLUMNS": "200"})


# 1.5 x (12,544 + 233,632) bytes (a whole number, so the boundary is exact), and the
# weights, which are not built yet when the batch is checked
ROOM = 3 * (INPUT_BYTES + OUTPUT_BYTES) // 2 + WEIGHT_BYTES


@pytest.mark.parametrize("free,runs", [(ROOM, True), (ROOM - 1, False)])
def test_a_batch_runs_where_one_and_a_half_times_its_input_and_outputs_fit(monkeypatch,
                                                                           free, runs):
    assert OUTPUT_BYTES == 233_632
    result = _summary(monkeypatch, free, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert ("counted without running it" not in result.stderr) == runs, result.stderr
    assert ("saved for backward, train mode" in result.stdout) == runs


@pytest.mark.parametrize("free,refused", [(WEIGHT_BYTES, False), (WEIGHT_BYTES - 1, True)])
def test_weights_are_refused_only_past_the_free_memory(monkeypatch, free, refused):
    result = _summary(monkeypatch, free)
    assert (result.exit_code == 1) == refused, result.output
    said = " ".join(result.output.split())
    assert ("holds 241 KiB of weights" in said) == refused, said
    if refused:
        assert "a smaller model (cnnlab models)" in said, said


def test_a_head_too_big_is_told_to_have_fewer_classes(monkeypatch):
    result = _summary(monkeypatch, WEIGHT_BYTES - 1, "--num-classes", "10")
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert "lenet_d2l with 10 classes holds 241 KiB of weights" in said, said
    assert "fewer --num-classes" in said, said
