"""load_run builds a small network as usual, without the meta device, whose shape probe
imports torch's compiler (1.5 s of CPU, a third of `cnnlab eval` on lenet_modern); a
large checkpoint still builds on the meta device, the compiler imported first."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch


def test_a_small_run_is_loaded_without_importing_torchs_compiler(tiny_run):
    # Compared with what importing cnnlab already did: torch 2.4's torch.utils.checkpoint
    # (which cnnlab.models imports) brings in torch._inductor's config, not the compiler.
    code = ("import json, sys\n"
            "from cnnlab.train.run import load_run\n"
            "def compiler(): return [m for m in ('torch._dynamo', 'torch._inductor') "
            "if m in sys.modules]\n"
            "before = compiler()\n"
            f"load_run({str(tiny_run)!r})\n"
            "print(json.dumps([before, compiler()]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    before, after = json.loads(out.stdout)
    assert "torch._dynamo" not in after
    assert after == before


def test_both_builds_load_the_same_weights_and_leave_the_rng_alone(tiny_run, monkeypatch):
    from cnnlab.train import loaded_run

    torch.manual_seed(7)
    state = torch.get_rng_state()
    small = loaded_run.load_run(tiny_run).model
    assert torch.equal(torch.get_rng_state(), state)  # a forked RNG drew the weights
    monkeypatch.setattr(loaded_run, "_DRAWN_AT_MOST", 0)  # every checkpoint is large
    large = loaded_run.load_run(tiny_run).model
    assert small.state_dict().keys() == large.state_dict().keys()
    for key, value in small.state_dict().items():
        assert torch.equal(value, large.state_dict()[key]), key


def test_a_large_checkpoint_imports_the_compiler_before_building(tiny_run, monkeypatch):
    from cnnlab.train import loaded_run

    class Imported(Exception):
        pass

    def import_whole():
        raise Imported

    monkeypatch.setattr(loaded_run, "import_whole", import_whole)
    monkeypatch.setattr(loaded_run, "_DRAWN_AT_MOST", 0)
    with pytest.raises(Imported):
        loaded_run.load_run(tiny_run)
