"""`cnnlab summary` at a batch PyTorch cannot even size on the meta device (10**15 for
LeNet: a layer's storage overflows): refused by the input's size, not the allocator's
"can't allocate memory: you tried to allocate 3136000000000000000 bytes"."""

from __future__ import annotations

from typer.testing import CliRunner

import cnnlab.data.memory as memory
from cnnlab.cli import app


def test_a_batch_past_what_torch_sizes_is_refused_by_its_input(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device: 16 * 2**30)
    result = CliRunner().invoke(app, ["summary", "lenet_d2l", "--batch-size", str(10**15)],
                                env={"COLUMNS": "200"})
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert ("at batch 1,000,000,000,000,000 the input alone takes 2.72 EiB, and this machine "
            "has 16.0 GiB free: give a smaller --batch-size") in said, said
    assert "DefaultCPUAllocator" not in said
