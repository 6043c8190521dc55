"""Small sweep specs the design tests share (synthetic data, one epoch, a tiny band), and a
stand-in pool whose driver is sent SIGTERM."""

from __future__ import annotations

import os
import signal
import time

from cnnlab.design.store import SweepSpec

TINY_TRAIN = {"epochs": 1, "batch_size": 32, "device": "cpu", "eval_subset": 64}


def tiny_spec(space: str = "anynetx_a", **kw) -> SweepSpec:
    return SweepSpec(space=space, macs=(1e5, 1e6), data="synthetic", train_subset=64,
                     train=dict(TINY_TRAIN), **kw)


def shaped_spec(**kw) -> SweepSpec:
    return SweepSpec(space="anynetx_b", macs=(1e5, 1e6), data="synthetic", image_size=28,
                     in_channels=1, num_classes=10, **kw)


class TermedPool:
    """A 2-slot pool: while it waits on its first two trials the driver gets a SIGTERM;
    with ``finish``, the trials it waited on come back done (else none come back)."""

    capacity, threads, gpus, name = 2, 1, 0, "fake x2"

    def __init__(self, finish: bool = True) -> None:
        self.finish = finish

    def submit(self, task):
        return task["id"]

    def wait(self, handles):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the handler runs here
        if not self.finish:
            return []
        return [(h, {"id": h, "status": "done", "error_pct": 50.0, "test_acc": 0.5,
                     "best_test_acc": 0.5, "train_time_s": 1.0, "epochs": 1}) for h in handles]

    def close(self, cancel=False):
        pass
