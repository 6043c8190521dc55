"""Timing each step of work queued on a device, on the device's clock where it has one
(the throughput bench). Waiting for a device is ``train.device.synchronize``."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from cnnlab.train.device import synchronize


def step_seconds(fn: Callable[[], object], steps: int, device: torch.device) -> list[float]:
    """Seconds each of ``steps`` calls of ``fn`` took. On CUDA, events recorded between
    the steps time them on the device's clock without stalling it (their sum is the
    wall time of the whole run); elsewhere each step is synchronised and timed."""
    if device.type == "cuda":
        marks = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
        marks[0].record()
        for mark in marks[1:]:
            fn()
            mark.record()
        torch.cuda.synchronize(device)
        return [a.elapsed_time(b) / 1000 for a, b in zip(marks[:-1], marks[1:], strict=True)]
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times
