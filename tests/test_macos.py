"""cnnlab on macOS, simulated on any machine: no /proc, sysctl and vm_stat instead, Python
reporting the platform as "darwin"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.data import memory

# vm_stat's output on an Apple silicon Mac (16 KiB pages), numbers made up.
VM_STAT = """\
Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                                3000.
Pages active:                            200000.
Pages inactive:                          100000.
Pages speculative:                          500.
Pages throttled:                              0.
Pages wired down:                         90000.
Pages purgeable:                           1500.
"Translation faults":                 123456789.
File-backed pages:                        80000.
Pages stored in compressor:               40000.
"""


def _completed(stdout: str) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], 0, stdout=stdout, stderr="")


@pytest.fixture
def macos(monkeypatch):
    """sys.platform is "darwin", and nothing under /proc can be read."""
    monkeypatch.setattr(sys, "platform", "darwin")
    read_text = Path.read_text

    def no_proc(self, *args, **kwargs):
        if str(self).startswith("/proc/"):
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_proc)


def test_macos_free_memory_is_read_from_vm_stat(macos, monkeypatch):
    # It was None (no /proc/meminfo): a folder larger than the Mac's memory was decoded
    # into swap for minutes, where Linux refuses it at once.
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: _completed(VM_STAT))
    assert memory.available_memory("cpu") == 16384 * (3000 + 500 + 100000 + 1500)
    problem = memory.too_large_to_decode(100_000, (224, 224), 3, memory.available_memory())
    assert problem is not None and "this machine has 1.60 GiB free" in problem


@pytest.mark.parametrize("vm_stat", [OSError(2, "no vm_stat"), "", "Pages free: many\n"])
def test_macos_free_memory_unknown_refuses_nothing(macos, monkeypatch, vm_stat):
    def run(*args, **kwargs):
        if isinstance(vm_stat, Exception):
            raise vm_stat
        return _completed(vm_stat)

    monkeypatch.setattr(subprocess, "run", run)
    assert memory.available_memory("cpu") is None
    assert memory.too_large_to_decode(10**9, (224, 224), 3, None) is None
