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
    assert memory.available_memory("cpu") == 16384 * (3000 + 500 + 100000)  # not purgeable
    problem = memory.too_large_to_decode(100_000, (224, 224), 3, memory.available_memory())
    assert problem is not None and "this machine has 1.58 GiB free" in problem


@pytest.mark.parametrize("vm_stat", [OSError(2, "no vm_stat"), "", "Pages free: many\n"])
def test_macos_free_memory_unknown_refuses_nothing(macos, monkeypatch, vm_stat):
    def run(*args, **kwargs):
        if isinstance(vm_stat, Exception):
            raise vm_stat
        return _completed(vm_stat)

    monkeypatch.setattr(subprocess, "run", run)
    assert memory.available_memory("cpu") is None
    assert memory.too_large_to_decode(10**9, (224, 224), 3, None) is None


# What sysctl answers on a Mac with Apple silicon (an M1 Pro's 8 + 2 cores), or an
# Intel Mac's (one kind of core: no hw.nperflevels).
APPLE_SILICON = {"machdep.cpu.brand_string": "Apple M1 Pro", "hw.nperflevels": "2",
                 "hw.perflevel0.logicalcpu": "8", "hw.perflevel0.name": "Performance",
                 "hw.perflevel1.logicalcpu": "2", "hw.perflevel1.name": "Efficiency"}
INTEL_MAC = {"machdep.cpu.brand_string": "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz"}


def _on_a_mac(monkeypatch, sysctl: dict[str, str] | None, processor: str, machine: str):
    """platform and sysctl as on a Mac (sysctl None: there is none)."""
    import platform

    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(platform, "processor", lambda: processor)
    monkeypatch.setattr(platform, "machine", lambda: machine)

    def run(command, *args, **kwargs):
        if sysctl is None or command[0] != "sysctl":
            raise FileNotFoundError(2, "No such file or directory", command[0])
        names = [n for n in command[1:] if n != "-n"]
        lines = [sysctl[n] if "-n" in command else f"{n}: {sysctl[n]}"
                 for n in names if n in sysctl]
        return _completed("".join(f"{line}\n" for line in lines))

    monkeypatch.setattr(subprocess, "run", run)


@pytest.mark.parametrize(("sysctl", "processor", "machine", "model", "arch", "cores"), [
    (APPLE_SILICON, "arm", "arm64", "Apple M1 Pro", "arm64", "8 performance + 2 efficiency"),
    (INTEL_MAC, "i386", "x86_64", "Intel Core i7-9750H CPU @ 2.60GHz", "x86_64", None),
    # Python for Intel under Rosetta 2: slower, and no MPS; it had read as an Intel Mac.
    ({**APPLE_SILICON, "sysctl.proc_translated": "1"}, "i386", "x86_64", "Apple M1 Pro",
     "x86_64 (Rosetta 2 on an arm64 Mac)", "8 performance + 2 efficiency"),
    # No sysctl: the architecture, not platform.processor()'s "i386" for a 64-bit Mac.
    (None, "i386", "x86_64", "x86_64", "x86_64", None),
])
def test_a_macs_cpu_is_described_as_it_is(macos, monkeypatch, sysctl, processor, machine, model,
                                          arch, cores):
    from cnnlab.train import machine as machine_info

    _on_a_mac(monkeypatch, sysctl, processor, machine)
    info = machine_info.environment_info()
    assert (info["cpu_model"], info["processor"], info.get("cpu_cores")) == (model, arch, cores)
    assert machine_info.cpu_model("/no/proc/cpuinfo") == model


def test_folder_names_one_on_macos_and_windows_are_found():
    from cnnlab.data.folder_names import names_alike

    names = ["Cat", "cat", "dog", "Caf\u00e9", "cafe\u0301", "train", "Train", "Straße"]
    assert names_alike(names) == [["Cat", "cat"], ["Caf\u00e9", "cafe\u0301"],
                                  ["train", "Train"]]
    assert names_alike(["cat", "dog", "Strasse", "Straße"]) == []


def test_a_run_name_taken_in_another_case_names_the_folder_as_listed(tmp_path, monkeypatch):
    # On a Mac's disk runs/ResNet takes "resnet": the run went to resnet-2, as it should,
    # but the warning named runs/resnet, which `ls runs` does not show.
    import warnings

    from cnnlab.train.runlog import new_run_dir

    (tmp_path / "ResNet").mkdir()
    mkdir = Path.mkdir

    def case_blind_mkdir(self, *args, **kwargs):  # as APFS's default matches names
        if self.parent == tmp_path and self.name.lower() == "resnet":
            raise FileExistsError(17, "File exists", str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", case_blind_mkdir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = new_run_dir(tmp_path, "resnet18", "resnet")
    assert path == tmp_path / "resnet-2"
    [told] = [str(w.message) for w in caught]
    assert told.startswith(f"{tmp_path / 'ResNet'} exists: this run is {path} ")
    assert f"`cnnlab resume {tmp_path / 'ResNet'}`" in told
