"""train/device.py: the peak-memory reading, in MiB on every platform."""

import resource
import sys
from types import SimpleNamespace

import pytest
import torch

from cnnlab.train import device as device_mod


@pytest.mark.parametrize("platform, maxrss", [
    ("linux", 3 * 2**10 * 512),     # getrusage reports KiB on Linux: 1.5 GiB
    ("darwin", 3 * 2**20 * 512),    # and bytes on macOS: the same 1.5 GiB
])
def test_cpu_peak_memory_is_mib_on_linux_and_macos_alike(monkeypatch, platform, maxrss):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(resource, "getrusage",
                        lambda who: SimpleNamespace(ru_maxrss=maxrss))
    assert device_mod.peak_memory_mb(torch.device("cpu")) == 1536.0


def test_cpu_peak_memory_is_this_process_resident_set():
    # A Python process running torch holds tens of MiB at least, and far below a TiB:
    # a unit slip (bytes read as KiB, or KiB as bytes) lands outside this range.
    assert 10 < device_mod.peak_memory_mb(torch.device("cpu")) < 2**20


def test_torch_threads_sets_the_count_for_the_block_and_puts_it_back():
    before = torch.get_num_threads()
    with device_mod.torch_threads(before + 1) as inside:
        assert inside == torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with device_mod.torch_threads(None) as inside:  # None: left as it is
        assert inside == before
        torch.set_num_threads(before + 2)  # what the block does is undone too
    assert torch.get_num_threads() == before


def test_torch_threads_puts_the_count_back_when_the_block_raises():
    before = torch.get_num_threads()
    with pytest.raises(KeyboardInterrupt), device_mod.torch_threads(before + 1):
        raise KeyboardInterrupt
    assert torch.get_num_threads() == before
