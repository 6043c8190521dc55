"""Timing each step of work queued on a device, on the device's clock where it has one
(the throughput bench), and timing CPU calls against each other, interleaved (the op
benches). Waiting for a device is ``train.device.synchronize``."""

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


def time_calls(calls: dict[str, Callable[[], object]], repeats: int = 5) -> dict[str, float]:
    """Best wall time of each call, in seconds, over ``repeats`` interleaved rounds.

    Each call runs once to warm up; then every round times each call once, in
    turn, so a burst of load from another process slows one round of all of them
    rather than every repeat of one of them.
    """
    for fn in calls.values():
        fn()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
