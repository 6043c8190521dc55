"""Small sweep specs the design tests share (synthetic data, one epoch, a tiny band)."""

from __future__ import annotations

from cnnlab.design.store import SweepSpec

TINY_TRAIN = {"epochs": 1, "batch_size": 32, "device": "cpu", "eval_subset": 64}


def tiny_spec(space: str = "anynetx_a", **kw) -> SweepSpec:
    return SweepSpec(space=space, macs=(1e5, 1e6), data="synthetic", train_subset=64,
                     train=dict(TINY_TRAIN), **kw)


def shaped_spec(**kw) -> SweepSpec:
    return SweepSpec(space="anynetx_b", macs=(1e5, 1e6), data="synthetic", image_size=28,
                     in_channels=1, num_classes=10, **kw)
