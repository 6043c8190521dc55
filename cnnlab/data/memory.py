"""How much memory a device can still hold, and whether a decoded dataset fits in it.

cnnlab keeps its data resident (the CPU's RAM, or a GPU's memory). Linux promises memory
lazily, so an array too large for the machine is made at once and filled for minutes,
until the system kills the process; these numbers let a command refuse before that.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

# Set (to anything but "" or 0), a folder too large for the free memory is decoded anyway:
# into swap, slowly, where the machine has some.
NO_MEMORY_CHECK = "CNNLAB_NO_MEMORY_CHECK"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes ``device`` can still hold, or None where cnnlab cannot tell (then nothing is
    refused for its size). The CPU: Linux's MemAvailable (free, or freed without swapping),
    or less where the process's cgroup (a container's, a job scheduler's) allows less;
    macOS's free and reclaimable pages (:func:`macos_available_memory`); a CUDA device: its
    free memory. The decoded data lives there whole, and one that does not fit was found
    out only when the system killed the process (on macOS: swapped it out), after the
    decode."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":  # MPS shares the CPU's memory, and says nothing of it
        return None
    if sys.platform == "darwin":  # no /proc, no cgroups
        return macos_available_memory()
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        free = int(meminfo.split("MemAvailable:")[1].split()[0]) * 1024
    except (OSError, IndexError, ValueError):  # not Linux, or a kernel before 3.14
        return None
    left = cgroup_memory_left()
    return free if left is None else min(free, left)


# The vm_stat counts macOS can hand out without compressing or swapping anything: free
# pages, read-ahead ones (speculative: vm_stat counts them apart from free) and inactive
# ones (cached files, memory not touched lately). Not "purgeable": those pages (caches apps
# let go of) sit on the active and inactive queues too, so adding them counted some twice.
# Inactive pages that are a program's own data are compressed, not dropped, so this can
# still overstate the room a little: a check that errs that way refuses nothing that fits.
_MACOS_RECLAIMABLE = ("free", "speculative", "inactive")


def macos_available_memory(vm_stat: str | None = None) -> int | None:
    """Bytes macOS can give the process without swapping, read from ``vm_stat`` (its
    output; None: run the program, there on every Mac), or None where it cannot be read.
    Python's os.sysconf has no SC_AVPHYS_PAGES on macOS, and its SC_PHYS_PAGES is the
    installed memory, not what is free."""
    if vm_stat is None:
        try:
            vm_stat = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5,
                                     check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return None
    page = re.search(r"page size of (\d+) bytes", vm_stat)
    counts = dict(re.findall(r"^Pages (\w+):\s+(\d+)\.?$", vm_stat, re.MULTILINE))
    if page is None or "free" not in counts:  # not the output it was written for
        return None
    return int(page[1]) * sum(int(counts.get(kind, 0)) for kind in _MACOS_RECLAIMABLE)


def cgroup_memory_left(proc_cgroup: Path = Path("/proc/self/cgroup"),
                       root: Path = CGROUP_ROOT) -> int | None:
    """What the process's memory cgroups let it allocate still, or None (no limit, or
    unreadable): the least, over its own group and those above it, of the limit less the
    usage, the page cache it could drop not counted. The process's own group is named in
    ``proc_cgroup``: a Slurm job's or a systemd scope's limit is set there, not at the
    root, which is the process's own only inside a container."""
    try:
        lines = proc_cgroup.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    left = []
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if controllers == "":  # cgroup v2: one tree
            files, base = ("memory.max", "memory.current"), root
        elif "memory" in controllers.split(","):  # v1: the memory controller's tree
            files, base = ("memory.limit_in_bytes", "memory.usage_in_bytes"), root / "memory"
        else:
            continue
        folder = base / path.lstrip("/")
        if not folder.is_dir():  # a host's path seen from a container: its root is ours
            folder = base
        while True:
            room = _room_in(folder, *files)
            if room is not None:
                left.append(room)
            if folder == base:
                break
            folder = folder.parent
    return min(left) if left else None


def _room_in(folder: Path, limit_name: str, usage_name: str) -> int | None:
    try:
        limit = (folder / limit_name).read_text(encoding="utf-8").strip()
        if limit == "max" or int(limit) >= 2**60:  # no limit (v1 says so in a number)
            return None
        stat = (folder / "memory.stat").read_text(encoding="utf-8").split()
        cache = int(stat[stat.index("inactive_file") + 1]) if "inactive_file" in stat else 0
        usage = int((folder / usage_name).read_text(encoding="utf-8"))
        return max(0, int(limit) - usage + cache)
    except (OSError, ValueError):
        return None


def too_large_to_decode(count: int, size: tuple[int, int], channels: int,
                        free: int | None) -> str | None:
    """Why ``count`` images decoded at ``size`` with ``channels`` do not fit in ``free``
    bytes, with what to do instead; None where they fit, where the free memory is not
    known, or where $CNNLAB_NO_MEMORY_CHECK is set."""
    from cnnlab.formatting import format_bytes

    need = count * channels * size[0] * size[1]
    if free is None or need <= free or os.environ.get(NO_MEMORY_CHECK, "0") not in ("", "0"):
        return None
    side = math.isqrt(free // (count * channels))  # the largest square size that fits
    fixes = [f"decode them smaller (--resize {side} or less to train; --image-size for "
             "cnnlab data)"] if side >= 8 else []  # smaller than that trains nothing
    if channels == 3:
        fixes.append("read them in greyscale (--channels 1)")
    fixes += ["train on a copy of the folder with fewer images", "free memory (close "
              f"other programs), or set {NO_MEMORY_CHECK}=1 to decode them anyway (into "
              "swap, slowly)"]
    return (f"{count:,} image(s) decoded at {size[0]}x{size[1]} with {channels} channel(s) "
            f"take {format_bytes(need)} of memory, and this machine has {format_bytes(free)} "
            f"free: {', '.join(fixes)}")
