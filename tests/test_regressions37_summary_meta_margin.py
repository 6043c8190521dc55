"""`cnnlab summary` runs for real a batch whose input and layer outputs the free memory
holds one and a half times: a real summary's peak measured 0.65-1.2x them, and asking
twice sent resnet152 at batch 32 to the meta device (training activations not measured)
on a machine with room for it."""

from __future__ import annotations

import torch

import cnnlab.data.memory as memory
from cnnlab.cli.summary_memory import batch_too_big
from cnnlab.inspect import summary
from cnnlab.models import get_model


def _outputs(batch: int) -> int:
    with torch.device("meta"):
        net = get_model("lenet_d2l")
    counted = summary(net, (1, 28, 28), batch_size=batch, device="meta")
    return counted.totals.input_bytes + counted.totals.forward_activation_bytes


def test_room_for_one_and_a_half_times_the_outputs_runs_the_summary(monkeypatch):
    need = _outputs(256)
    monkeypatch.setattr(memory, "available_memory", lambda device: int(1.6 * need))
    assert batch_too_big("lenet_d2l", {}, (1, 28, 28), 256, 0) is None


def test_less_room_than_that_is_counted_on_the_meta_device(monkeypatch):
    need = _outputs(256)
    monkeypatch.setattr(memory, "available_memory", lambda device: int(1.4 * need))
    counted, why = batch_too_big("lenet_d2l", {}, (1, 28, 28), 256, 0)
    assert counted.totals.training_activation_bytes is None
    assert "(a summary up to 1.5 times that, and 241 KiB of weights)" in why, why
