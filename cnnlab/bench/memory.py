"""Activation memory of a training step, and what checkpointing buys (DenseNet).

The bytes a training step keeps alive between forward and backward are the tensors
autograd saves for the backward pass, counted by :func:`saved_activation_bytes` (the
counter behind ``cnnlab summary``'s "Training activations", so both give one number
for one model and input): each storage once, parameters, buffers and the input batch
left out.

:func:`run_densenet_memory_bench` compares a DenseNet with and without
``memory_efficient``: saved bytes, time per training step, and a check that both give
the same outputs and gradients. The figures to hold it to come from the authors'
repository (gpleiss/efficient_densenet_pytorch, Pleiss et al. 2017): DenseNet-BC-100 at
batch 64 on a Titan-X took 2.863 GB of GPU memory plain and 1.605 GB efficient (44%
less) for 0.165 and 0.207 s per batch (+25%; its text says 15-20%). Theirs is the GPU's
whole use, weights, gradients and workspace included; the saved bytes here leave those
out, so they shrink by more: 52% for densenet121 at 8x3x64x64, as torch.profiler's
count of what a forward leaves allocated agrees (81.2 and 39.2 MiB). Not counted: the
RNG state each checkpoint keeps (5,056 bytes on a CPU, 0.28 MiB for densenet121's 58
layers), which the counter cannot see.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.inspect import saved_activation_bytes
from cnnlab.train.device import torch_threads


def _train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()


def _step_times(models: list[nn.Module], x: torch.Tensor, y: torch.Tensor,
                steps: int) -> list[float]:
    """Median seconds per SGD step for each model, steps interleaved across models so
    that load from other processes hits all of them alike."""
    opts = [torch.optim.SGD(m.parameters(), lr=0.01) for m in models]
    for model, opt in zip(models, opts, strict=True):  # warm-up: allocator, kernels
        _train_step(model, opt, x, y)
    times: list[list[float]] = [[] for _ in models]
    for _ in range(steps):
        for model, opt, record in zip(models, opts, times, strict=True):
            t0 = time.perf_counter()
            _train_step(model, opt, x, y)
            record.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def compare_outputs_and_grads(a: nn.Module, b: nn.Module, x: torch.Tensor,
                              y: torch.Tensor) -> dict[str, float]:
    """Max abs differences of logits and of every parameter's gradient (one step, train mode)."""
    grads = []
    outs = []
    for model in (a, b):
        model.zero_grad(set_to_none=True)
        out = model(x)
        F.cross_entropy(out, y).backward()
        outs.append(out.detach())
        grads.append([p.grad for p in model.parameters()])
    grad_diff = max((ga - gb).abs().max().item() for ga, gb in zip(*grads, strict=True))
    return {"max_abs_logit_diff": (outs[0] - outs[1]).abs().max().item(),
            "max_abs_grad_diff": grad_diff}


def run_densenet_memory_bench(model: str = "densenet121", batch_size: int = 8,
                              image_size: int = 64, steps: int = 3, num_classes: int = 10,
                              num_threads: int | None = None, seed: int = 0) -> list[dict]:
    """Saved-activation bytes and time per training step, plain vs memory-efficient.

    Both models start from the same weights. Returns one row per variant:
    ``variant``, ``saved_bytes``, ``saved_mib``, ``step_s`` (median of ``steps`` SGD
    steps after one warm-up, the two models' steps interleaved), ``memory_vs_plain``
    and ``time_vs_plain`` (ratios), and the max abs logit and gradient differences to
    the plain model. ``num_threads`` sets torch's intra-op threads for the run (one
    thread gives steadier CPU timings on a shared machine).
    """
    from cnnlab.models import get_model  # the registry imports every family

    with torch_threads(num_threads or None):  # 0 or None: leave torch's threads as they are
        torch.manual_seed(seed)
        plain = get_model(model, num_classes=num_classes, in_channels=3).train()
        efficient = get_model(model, num_classes=num_classes, in_channels=3,
                              memory_efficient=True).train()
        efficient.load_state_dict(plain.state_dict())
        x = torch.randn(batch_size, 3, image_size, image_size)
        y = torch.randint(0, num_classes, (batch_size,))
        diffs = compare_outputs_and_grads(copy.deepcopy(plain), copy.deepcopy(efficient), x, y)
        saved = [saved_activation_bytes(net, lambda net=net: net(x), (x,))[0]
                 for net in (plain, efficient)]
        step_s = _step_times([plain, efficient], x, y, steps)
    rows = []
    for name, nbytes, seconds in zip(("plain", "memory_efficient"), saved, step_s,
                                     strict=True):
        row = {"model": model, "variant": name, "batch_size": batch_size,
               "image_size": image_size, "saved_bytes": nbytes, "saved_mib": nbytes / 2**20,
               "step_s": seconds, "memory_vs_plain": nbytes / saved[0],
               "time_vs_plain": seconds / step_s[0]}
        row.update(diffs if name != "plain" else
                   {"max_abs_logit_diff": 0.0, "max_abs_grad_diff": 0.0})
        rows.append(row)
    return rows
