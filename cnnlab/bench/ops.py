"""Op benchmark: the from-scratch convolutions and pooling against PyTorch's, per call.

Three questions about convolution, one table each (``run_ops_bench`` returns the
rows, ``render_ops_bench`` turns them into rich tables), and a fourth table,
pooling, from :mod:`cnnlab.bench.pooling`:

1. **Kernel size.** Time per forward call of ``F.conv2d``, our ``conv2d`` (both
   of its methods; "auto" is the one it would pick) and ``fft_conv2d`` for square
   kernels 1..15 at a few image sizes, "same" padding. Direct convolution costs
   grow with k^2; FFT convolution's barely grow, so past some kernel size FFT
   wins: :func:`fft_crossover` reads that size off the rows, against PyTorch's
   conv and against ours.
2. **Groups.** The chapter notes say a grouped convolution with g groups is "g
   times faster" than a dense one: it does 1/g of the multiply-adds. The table
   shows time against g for PyTorch and for ours next to that ideal g-fold cut.
3. **Target.** Ours vs PyTorch at the size the project's goal names: 3x3, batch
   64, 64 -> 64 channels, 28x28 and 32x32 (forward, and forward + backward).

Timings are the best of ``repeats`` calls after one warm-up call, the calls of
all candidates interleaved round by round (see :func:`time_calls`), which is the
least disturbed by other processes on a shared machine; forward-only rows run
under ``torch.no_grad``; float32 on the CPU with ``threads`` intra-op threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from rich.table import Table

from cnnlab.bench.pooling import bench_pooling, pooling_table
from cnnlab.bench.timing import time_calls
from cnnlab.ops.conv import ConvGeometry, choose_method, conv2d
from cnnlab.ops.fft import fft_conv2d
from cnnlab.train.device import torch_threads

KERNEL_SIZES = (1, 3, 5, 7, 9, 11, 13, 15)
IMAGE_SIZES = (28, 56)
GROUPS = (1, 2, 4, 8, 16, 32)
# Skip an unfold (im2col) timing whose column matrix would exceed this: it would
# only measure the machine's memory bandwidth, slowly.
MAX_UNFOLD_BYTES = 768 * 2**20


def _inputs(batch, c_in, c_out, size, kernel, groups=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c_in, size, size, generator=g)
    w = torch.randn(c_out, c_in // groups, kernel, kernel, generator=g) / kernel
    return x, w, torch.randn(c_out, generator=g)


def _forward_times(x, w, b, padding, groups, repeats) -> dict:
    """Forward ms for torch, our two methods, our auto choice, and FFT."""
    geom = ConvGeometry.of(x, w, b, 1, padding, 1, groups)
    cols_bytes = x.element_size() * geom.n * geom.c_in * geom.kh * geom.kw * geom.h_out * geom.w_out
    calls = {
        "torch": lambda: F.conv2d(x, w, b, 1, padding, 1, groups),
        "shift": lambda: conv2d(x, w, b, 1, padding, 1, groups, method="shift"),
        "unfold": lambda: conv2d(x, w, b, 1, padding, 1, groups, method="unfold"),
        "fft": lambda: fft_conv2d(x, w, b, 1, padding, 1, groups),
    }
    if cols_bytes > MAX_UNFOLD_BYTES:
        del calls["unfold"]
    with torch.no_grad():
        ms = {name: 1e3 * s for name, s in time_calls(calls, repeats).items()}
    ms.setdefault("unfold", None)
    auto = choose_method(geom)
    ms["auto_method"], ms["scratch"] = auto, ms[auto]
    return ms


def bench_kernel_sizes(
    kernel_sizes: Sequence[int] = KERNEL_SIZES,
    image_sizes: Sequence[int] = IMAGE_SIZES,
    batch: int = 8,
    channels: int = 16,
    repeats: int = 3,
) -> list[dict]:
    """Forward time per call vs square kernel size, "same" padding, channels -> channels."""
    rows = []
    for size in image_sizes:
        for k in kernel_sizes:
            x, w, b = _inputs(batch, channels, channels, size, k)
            ms = _forward_times(x, w, b, "same", 1, repeats)
            rows.append({"image": size, "kernel": k, "batch": batch, "channels": channels,
                         "torch_ms": ms["torch"], "scratch_ms": ms["scratch"],
                         "scratch_method": ms["auto_method"], "shift_ms": ms["shift"],
                         "unfold_ms": ms["unfold"], "fft_ms": ms["fft"]})
    return rows


def fft_crossover(rows: list[dict]) -> list[dict]:
    """Per image size: the smallest kernel from which FFT is faster for every larger one.

    Against PyTorch's conv (``vs_torch``) and against our direct conv2d
    (``vs_scratch``); None when FFT never stays ahead within the kernels measured.
    """
    out = []
    for size in sorted({r["image"] for r in rows}):
        these = sorted((r for r in rows if r["image"] == size), key=lambda r: r["kernel"])
        found = {}
        for rival in ("torch", "scratch"):
            found[rival] = None
            for r in reversed(these):
                if r["fft_ms"] >= r[f"{rival}_ms"]:
                    break
                found[rival] = r["kernel"]
        out.append({"image": size, "vs_torch": found["torch"], "vs_scratch": found["scratch"]})
    return out


def bench_groups(
    groups: Sequence[int] = GROUPS,
    channels: int = 64,
    image: int = 28,
    batch: int = 32,
    kernel: int = 3,
    repeats: int = 3,
) -> list[dict]:
    """Forward time vs number of groups at fixed channels: measured vs the ideal g-fold cut."""
    rows = []
    for g in groups:
        x, w, b = _inputs(batch, channels, channels, image, kernel, groups=g)
        ms = _forward_times(x, w, b, kernel // 2, g, repeats)
        macs = batch * image * image * channels * (channels // g) * kernel * kernel
        rows.append({"groups": g, "macs_m": macs / 1e6, "ideal_speedup": float(g),
                     "torch_ms": ms["torch"], "scratch_ms": ms["scratch"],
                     "scratch_method": ms["auto_method"], "fft_ms": ms["fft"]})
    for key in ("torch", "scratch", "fft"):
        base = rows[0][f"{key}_ms"]
        for r in rows:
            r[f"{key}_speedup"] = base / r[f"{key}_ms"]
    return rows


def bench_target(batch: int = 64, channels: int = 64, image_sizes: Sequence[int] = (28, 32),
                 repeats: int = 3) -> list[dict]:
    """3x3 conv, padding 1: ours / PyTorch, forward and forward + backward."""
    rows = []
    for size in image_sizes:
        x, w, b = _inputs(batch, channels, channels, size, 3)
        ms = _forward_times(x, w, b, 1, 1, repeats)
        calls = {name: _training_call(op, x, w, b)
                 for name, op in (("torch", F.conv2d), ("scratch", conv2d))}
        train = {name: 1e3 * s for name, s in time_calls(calls, repeats).items()}
        rows.append({"image": size, "batch": batch, "channels": channels,
                     "torch_ms": ms["torch"], "scratch_ms": ms["scratch"],
                     "scratch_method": ms["auto_method"], "shift_ms": ms["shift"],
                     "unfold_ms": ms["unfold"], "ratio": ms["scratch"] / ms["torch"],
                     "torch_train_ms": train["torch"], "scratch_train_ms": train["scratch"],
                     "train_ratio": train["scratch"] / train["torch"]})
    return rows


def _training_call(op, x, w, b) -> Callable[[], None]:
    """Forward + backward to input, weight and bias, as in a training step."""
    x, w, b = (t.detach().clone().requires_grad_() for t in (x, w, b))

    def call():
        y = op(x, w, b, padding=1)
        y.backward(torch.ones_like(y))
        x.grad = w.grad = b.grad = None

    return call


def run_ops_bench(threads: int | None = 2, quick: bool = False, repeats: int = 3) -> dict:
    """All four benchmarks (pooling is ``cnnlab/bench/pooling.py``). ``quick`` uses fewer,
    smaller cases (a smoke run, not numbers)."""
    with torch_threads(threads) as n_threads:
        if quick:
            kernels = bench_kernel_sizes((1, 3, 7), (12,), batch=2, channels=4, repeats=1)
            grouped = bench_groups((1, 2, 4), channels=8, image=8, batch=2, repeats=1)
            target = bench_target(batch=2, channels=8, image_sizes=(8,), repeats=1)
        else:
            kernels = bench_kernel_sizes(repeats=repeats)
            grouped = bench_groups(repeats=repeats)
            target = bench_target(repeats=repeats)
        pooling = bench_pooling(repeats=1 if quick else repeats, quick=quick)
    return {"threads": n_threads, "kernels": kernels, "crossover": fft_crossover(kernels),
            "groups": grouped, "target": target, "pooling": pooling}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_ops_bench(result: dict) -> list[Table]:
    """Rich tables for ``run_ops_bench``'s result: kernels, crossover, groups, target."""
    threads = result["threads"]
    k0 = result["kernels"][0]
    kernels = Table(title=f"conv2d forward, ms per call: {k0['channels']} -> {k0['channels']} "
                          f"channels, batch {k0['batch']}, 'same' padding, {threads} thread(s)")
    for col in ("image", "kernel", "torch", "scratch (method)", "shift", "unfold", "fft",
                "scratch / torch", "fft / torch"):
        kernels.add_column(col, justify="right")
    for r in result["kernels"]:
        kernels.add_row(str(r["image"]), str(r["kernel"]), _ms(r["torch_ms"]),
                        f"{_ms(r['scratch_ms'])} ({r['scratch_method']})", _ms(r["shift_ms"]),
                        _ms(r["unfold_ms"]), _ms(r["fft_ms"]),
                        f"{r['scratch_ms'] / r['torch_ms']:.2f}x",
                        f"{r['fft_ms'] / r['torch_ms']:.2f}x")

    crossover = Table(title="Smallest kernel size from which FFT convolution is faster")
    for col in ("image", "vs PyTorch conv", "vs from-scratch conv"):
        crossover.add_column(col, justify="right")
    for r in result["crossover"]:
        crossover.add_row(str(r["image"]), str(r["vs_torch"] or "never"),
                          str(r["vs_scratch"] or "never"))

    grouped = Table(title=f"grouped 3x3 conv, forward ms per call ({threads} thread(s)): "
                          f"speedup over g = 1 vs the ideal g-fold cut in multiply-adds")
    for col in ("groups", "MMACs", "ideal", "torch", "torch speedup", "scratch (method)",
                "scratch speedup", "fft", "fft speedup"):
        grouped.add_column(col, justify="right")
    for r in result["groups"]:
        grouped.add_row(str(r["groups"]), f"{r['macs_m']:.3g}", f"{r['ideal_speedup']:.0f}x",
                        _ms(r["torch_ms"]), f"{r['torch_speedup']:.2f}x",
                        f"{_ms(r['scratch_ms'])} ({r['scratch_method']})",
                        f"{r['scratch_speedup']:.2f}x", _ms(r["fft_ms"]),
                        f"{r['fft_speedup']:.2f}x")

    target = Table(title=f"goal: from-scratch 3x3 conv within 2x of PyTorch ({threads} thread(s))")
    for col in ("input", "torch fwd", "scratch fwd", "ratio", "torch fwd+bwd",
                "scratch fwd+bwd", "ratio"):
        target.add_column(col, justify="right")
    for r in result["target"]:
        target.add_row(f"{r['batch']}x{r['channels']}x{r['image']}x{r['image']}",
                       _ms(r["torch_ms"]), _ms(r["scratch_ms"]), f"{r['ratio']:.2f}x",
                       _ms(r["torch_train_ms"]), _ms(r["scratch_train_ms"]),
                       f"{r['train_ratio']:.2f}x")
    return [kernels, crossover, grouped, target, pooling_table(result["pooling"], threads)]
