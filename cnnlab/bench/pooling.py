"""Pooling benchmark: the from-scratch pooling ops against PyTorch's, per call.

The fourth table of ``cnnlab bench ops``. Each row is one pooling the zoo's models
use, at the size they use it, timed forward (under ``torch.no_grad``) and forward +
backward to the input, ours and PyTorch's, interleaved as in :func:`time_calls`:

- ``MaxPool2x2``, the fast CPU path the models' 2 x 2 max pools take (see
  ``cnnlab/ops/fast_pool.py``), against ``F.max_pool2d``;
- :func:`pool2d`, the teaching version, for LeNet's 2 x 2 average pool and ResNet's
  3 x 3, stride-2, padding-1 stem max pool;
- :func:`adaptive_avg_pool2d` to even bins (14 -> 7, a global pool 7 -> 1) and to
  uneven ones (14 -> 5, 14 -> 3), where bins overlap and cost more.

The ratio column is ours / PyTorch's: below 1 ours is faster.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from rich.table import Table

from cnnlab.bench.timing import time_calls
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d
from cnnlab.ops.fast_pool import MaxPool2x2
from cnnlab.ops.pool import pool2d

_fast_max_pool = MaxPool2x2()

# (what, input shape (N, C, H, W), ours, PyTorch's): batch 64 at the zoo's sizes.
CASES: tuple[tuple[str, tuple[int, ...], Callable, Callable], ...] = (
    ("max 2x2 s2 (MaxPool2x2)", (64, 32, 28, 28), _fast_max_pool,
     lambda x: F.max_pool2d(x, 2, 2)),
    ("max 3x3 s2 p1 (pool2d)", (16, 64, 56, 56), lambda x: pool2d(x, 3, 2, 1, mode="max"),
     lambda x: F.max_pool2d(x, 3, 2, 1)),
    ("avg 2x2 s2 (pool2d)", (64, 6, 28, 28), lambda x: pool2d(x, 2, 2, mode="avg"),
     lambda x: F.avg_pool2d(x, 2, 2)),
    ("adaptive avg 14 -> 7", (64, 64, 14, 14), lambda x: adaptive_avg_pool2d(x, 7),
     lambda x: F.adaptive_avg_pool2d(x, 7)),
    ("adaptive avg 7 -> 1", (64, 512, 7, 7), lambda x: adaptive_avg_pool2d(x, 1),
     lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("adaptive avg 14 -> 5", (64, 64, 14, 14), lambda x: adaptive_avg_pool2d(x, 5),
     lambda x: F.adaptive_avg_pool2d(x, 5)),
    ("adaptive avg 14 -> 3", (64, 64, 14, 14), lambda x: adaptive_avg_pool2d(x, 3),
     lambda x: F.adaptive_avg_pool2d(x, 3)),
)


def _training_call(op, x: torch.Tensor) -> Callable[[], None]:
    """Forward + backward to the input, as inside a training step."""
    x = x.detach().clone().requires_grad_()

    def call():
        y = op(x)
        y.backward(torch.ones_like(y))
        x.grad = None

    return call


def bench_pooling(repeats: int = 3, quick: bool = False) -> list[dict]:
    """ms per call, ours and PyTorch's, forward and forward + backward, for each case.
    ``quick`` shrinks every input to batch 2 and 4 channels (a smoke run, not numbers)."""
    rows = []
    for seed, (what, shape, ours, theirs) in enumerate(CASES):
        if quick:
            shape = (2, 4, *shape[2:])
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            fwd = time_calls({"ours": partial(ours, x), "torch": partial(theirs, x)}, repeats)
        train = time_calls({"ours": _training_call(ours, x),
                            "torch": _training_call(theirs, x)}, repeats)
        rows.append({"op": what, "input": "x".join(map(str, shape)),
                     "torch_ms": 1e3 * fwd["torch"], "scratch_ms": 1e3 * fwd["ours"],
                     "ratio": fwd["ours"] / fwd["torch"],
                     "torch_train_ms": 1e3 * train["torch"],
                     "scratch_train_ms": 1e3 * train["ours"],
                     "train_ratio": train["ours"] / train["torch"]})
    return rows


def pooling_table(rows: list[dict], threads: int) -> Table:
    table = Table(title=f"pooling, ms per call: from-scratch vs PyTorch ({threads} thread(s)); "
                        f"ratio = ours / PyTorch's")
    for col in ("op", "input", "torch fwd", "scratch fwd", "ratio", "torch fwd+bwd",
                "scratch fwd+bwd", "ratio"):
        table.add_column(col, justify="left" if col == "op" else "right")
    for r in rows:
        table.add_row(r["op"], r["input"], f"{r['torch_ms']:.2f}", f"{r['scratch_ms']:.2f}",
                      f"{r['ratio']:.2f}x", f"{r['torch_train_ms']:.2f}",
                      f"{r['scratch_train_ms']:.2f}", f"{r['train_ratio']:.2f}x")
    return table
