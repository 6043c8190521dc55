"""Training and inference throughput per model, like timm's benchmark plus peak memory.

Synthetic input on the device (no data loading), a few warm-up steps, then timed
steps, each timed on its own (CUDA events on a GPU, so the device is never stalled
between steps): a row gives the median step and the fastest and slowest, so a reader
sees how far one run's numbers can be trusted. On out-of-memory the batch is halved
and the model retried, so one command sweeps models of any size.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from cnnlab.bench.peaks import device_peak
from cnnlab.bench.timing import step_seconds
from cnnlab.models import get_model, model_info
from cnnlab.models.padded_stem import pad_stem_channels, plain_stems
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import autocast_context, is_out_of_memory, synchronize
from cnnlab.train.optim import build_optimizer

# How a row's FLOP/s are counted, for tables and help texts to say.
FLOPS_RULE = ("training FLOP/s = 6 x forward MACs per image x images/s: 2 FLOPs per "
              "multiply-add, and the backward pass taken as twice the forward; MACs count "
              "convolutions and matrix products only (as torchvision's GFLOPS)")


@dataclass
class ThroughputRow:
    """One model's speed. Step times are the median of the timed steps, with the fastest
    (``_min``) and slowest (``_max``); samples/s is the batch over the median step."""

    model: str
    input_size: str
    batch_size: int
    train_samples_per_s: float
    train_step_ms: float
    infer_samples_per_s: float
    infer_step_ms: float
    # The CUDA allocator's peak while this model was measured (MiB); None elsewhere: a
    # CPU has no per-model counter (the process's peak resident set only grows).
    peak_memory_mib: float | None
    train_tflops: float  # achieved, in TFLOP/s: see FLOPS_RULE
    amp: str
    channels_last: bool
    compile: bool
    device: str
    train_step_ms_min: float = float("nan")
    train_step_ms_max: float = float("nan")
    infer_step_ms_min: float = float("nan")
    infer_step_ms_max: float = float("nan")
    timed_steps: int = 0
    pad_stem: int = 0
    optimizer: str = "sgd"
    model_overrides: str = ""  # the model's options, as JSON ("" = its defaults)
    note: str = ""
    profile: str = ""  # the profiler's table, when asked for (not written to CSV)
    # The card's dense peak TFLOP/s for the step's math, and which ("H100 80GB HBM3, bf16
    # dense"): train_tflops over it is the share of the card used. None off CUDA and for
    # a card bench/peaks does not list.
    peak_tflops: float | None = None
    peak_of: str = ""


def peak_memory_mib(device: torch.device) -> float | None:
    """The CUDA allocator's peak since its last reset, in MiB; None off CUDA (the training
    loop's figure there, the process's peak resident set, belongs to no one model)."""
    from cnnlab.train.device import peak_memory_mb

    return peak_memory_mb(device) if device.type == "cuda" else None


def measure(name: str, batch_size: int, image_size: int | None = None, *, device="cpu",
            amp: str = "off", channels_last: bool = False, compile: bool = False,
            warmup: int = 2, steps: int = 5, num_classes: int = 10,
            profile_steps: int = 0, pad_stem: int = 0, optimizer: str = "sgd",
            model_overrides: dict | None = None, infer: bool = True) -> ThroughputRow:
    """One model at one batch size (raises on out-of-memory; see :func:`benchmark`).

    With ``profile_steps``, that many more training steps run under the PyTorch
    profiler, and ``row.profile`` holds its table of the operators that took the most
    device time (CPU time on a CPU): where a step's time goes. ``pad_stem``: compute
    the first convolution on that many channels (:func:`pad_stem_channels`; 0 = off).
    ``optimizer``: built as training builds it (momentum 0.9, weight decay 5e-4), so a
    row shows what an optimizer's own step adds (Muon's orthogonalisation, say).
    ``model_overrides``: the model's options, as training's ``model_overrides``.
    ``infer=False`` times training alone (inference NaN): compiled, the eval-mode graph
    is a second compilation, which a training-speed goal does not need.
    """
    dev = torch.device(device)
    info = model_info(name)
    channels = info.input_size[0]
    size = image_size or info.input_size[1]
    kw = {**({"image_size": size} if info.sized_head else {}), **(model_overrides or {})}
    model = get_model(name, num_classes=num_classes, **kw).to(dev)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    note = ""
    if pad_stem:
        try:
            pad_stem_channels(model, pad_stem, channels_last)
        except ValueError as exc:  # one model of a sweep: measure it as it is, and say so
            pad_stem, note = 0, f"stem not padded: {exc}"
    step_model = torch.compile(model) if compile else model
    opt = build_optimizer(model, TrainConfig(optimizer=optimizer, lr=1e-3, momentum=0.9,
                                             weight_decay=5e-4).validate())
    x = torch.randn(batch_size, channels, size, size, device=dev).to(memory_format=fmt)
    y = torch.randint(0, num_classes, (batch_size,), device=dev)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the Trainer: autotuned in the warm-up
        torch.cuda.reset_peak_memory_stats(dev)

    def train_step():
        with autocast_context(dev, amp):
            out = step_model(x)
            out = out[0] if isinstance(out, tuple) else out
            loss = F.cross_entropy(out.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    @torch.no_grad()
    def infer_step():
        with autocast_context(dev, amp):
            step_model(x)

    nan = float("nan")
    timings = {"infer": [nan]}
    phases = [("train", train_step, True)] + ([("infer", infer_step, False)] if infer else [])
    profile = ""
    for label, fn, mode in phases:
        model.train(mode)
        for _ in range(warmup):
            fn()
        synchronize(dev)
        timings[label] = step_seconds(fn, steps, dev)
        if label == "train" and profile_steps > 0:
            # Here, in train mode: after the inference phase, BatchNorm profiled its
            # eval-mode kernels (and a compiled model recompiled inside the profile).
            profile = _profile(train_step, dev, profile_steps)
    from cnnlab.inspect import count_macs

    with plain_stems(model):  # the model's MACs, not the padded stem's zero channels
        macs = count_macs(model, (channels, size, size))
    train, infer = (statistics.median(timings[k]) for k in ("train", "infer"))
    train_rate = batch_size / train
    peak, peak_of = device_peak(dev, amp)
    return ThroughputRow(
        model=name, input_size=f"{channels}x{size}x{size}", batch_size=batch_size,
        train_samples_per_s=train_rate, train_step_ms=1000 * train,
        infer_samples_per_s=batch_size / infer, infer_step_ms=1000 * infer,
        train_step_ms_min=1000 * min(timings["train"]),
        train_step_ms_max=1000 * max(timings["train"]),
        infer_step_ms_min=1000 * min(timings["infer"]),
        infer_step_ms_max=1000 * max(timings["infer"]), timed_steps=steps,
        peak_memory_mib=peak_memory_mib(dev), train_tflops=6 * macs * train_rate / 1e12,
        amp=amp, channels_last=channels_last, compile=compile,
        device=str(dev), pad_stem=pad_stem, optimizer=optimizer,
        model_overrides=json.dumps(model_overrides) if model_overrides else "", note=note,
        profile=profile, peak_tflops=peak, peak_of=peak_of,
    )


def _profile(step, device: torch.device, steps: int, rows: int = 25) -> str:
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with _kineto_chatter_dropped(cpu_only=device.type != "cuda"):
        with profile(activities=activities) as prof:
            for _ in range(steps):
                step()
            synchronize(device)
        key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        return prof.key_averages().table(sort_by=key, row_limit=rows)


@contextlib.contextmanager
def _kineto_chatter_dropped(cpu_only: bool):
    """Standard error as it was, less the profiler library's (Kineto's) chatter: its
    "USDT ... profiler_start/stop" markers, and on a CPU-only run its "gpuGetDeviceCount
    failed" ERROR line, a CUDA build looking for a GPU that is not there although only
    the CPU was asked for (torch 2.14). Kineto writes from C++ to file descriptor 2, so
    that is caught and every other line written back, in order, once the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().splitlines(keepends=True)
                    if not _kineto_chatter(line, cpu_only)]
            if kept:
                os.write(2, b"".join(kept))


def _kineto_chatter(line: bytes, cpu_only: bool) -> bool:
    if line.startswith(b"USDT:") and b"SyncActivityProfilerHandler" in line:
        return True
    return cpu_only and line.startswith(b"ERROR:") and b"gpuGetDeviceCount failed" in line


def benchmark(models: list[str], batch_size: int = 64, image_size: int | None = None,
              **options) -> list[dict]:
    """:func:`measure` for each model, halving the batch on out-of-memory."""
    return list(benchmark_rows(models, batch_size, image_size, **options))


def benchmark_rows(models: list[str], batch_size: int = 64, image_size: int | None = None,
                   **options) -> Iterator[dict]:
    """Each model's row as soon as it is measured (a caller can store it before the next
    model starts). On out-of-memory the batch is halved and the model tried again; a
    model that fails otherwise gives a row with NaN numbers and the error in its note,
    and the sweep goes on."""
    for name in models:
        bs, note = batch_size, ""
        while True:
            try:
                row = measure(name, bs, image_size, **options)
                row.note = "; ".join(n for n in (note, row.note) if n)
                yield asdict(row)
                break
            except Exception as exc:
                if is_out_of_memory(exc) and bs > 1:
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                    note = f"out of memory at batch {bs}; halved"
                    bs //= 2
                    continue
                yield _failed_row(name, bs, image_size, exc, options)
                break


def _failed_row(name: str, batch_size: int, image_size: int | None, exc: Exception,
                options: dict) -> dict:
    info = model_info(name)
    size = image_size or info.input_size[1]
    nan = float("nan")
    error = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line in a table
    return asdict(ThroughputRow(
        model=name, input_size=f"{info.input_size[0]}x{size}x{size}", batch_size=batch_size,
        train_samples_per_s=nan, train_step_ms=nan, infer_samples_per_s=nan,
        infer_step_ms=nan, peak_memory_mib=None, train_tflops=nan,
        amp=options.get("amp", "off"), channels_last=options.get("channels_last", False),
        compile=options.get("compile", False), device=str(options.get("device", "cpu")),
        pad_stem=options.get("pad_stem", 0), optimizer=options.get("optimizer", "sgd"),
        model_overrides=json.dumps(options["model_overrides"])
        if options.get("model_overrides") else "",
        note=f"failed: {error[:300]}"))
