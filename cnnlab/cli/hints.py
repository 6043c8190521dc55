"""Notes a command prints before long work, about the machine rather than the request."""

from __future__ import annotations

import os

from cnnlab.train.machine import usable_cores

from .messages import err


def hint_at_a_busy_cpu(threads: int | None, device: str | None) -> None:
    """On a CPU already busy with other work, torch's one-thread-per-core pool competes
    with it, and a training step can take many times longer than with one thread
    (BENCHMARKS.md, "Threads on a busy CPU": at load 5.5 on 2 cores the LeNets trained
    20-89x slower with two threads than with one). Not where the pool has one thread
    already: torchrun's processes (it sets OMP_NUM_THREADS=1), or OMP_NUM_THREADS=1 set
    by the user, where --threads 1 would change nothing."""
    import torch

    from cnnlab.train.device import select_device
    from cnnlab.train.distributed import launched_as_main

    if threads is not None or not launched_as_main() or torch.get_num_threads() == 1:
        return
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        return
    cores = usable_cores()
    if load > cores and select_device(device).type == "cpu":
        err.print(f"note: this CPU is busy (load {load:.1f} on {cores} cores), so torch's "
                  "threads compete with other work; --threads 1 is often steadier and "
                  "faster here")

