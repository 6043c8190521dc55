"""What a GPU can do at most: the dense peak TFLOP/s of its data sheet, for the math a
training step runs in, so that a throughput row can say what share of the card it used.

The numbers are NVIDIA's data sheets' (boost clock, tensor cores, without the 2:4
sparsity those sheets quote first: half of it). A step's math is taken from its
autocast dtype: bf16 and fp16 run on the tensor cores at the same peak; an fp32 step's
convolutions (nearly all of a CNN's MACs; its Linear layers stay FP32 by default) run in
TF32 where cuDNN is allowed it (PyTorch's default), else on the plain FP32 units. A card
not listed, or a MIG slice of one (a part of the card), has no peak here: ``cnnlab
bench throughput --peak-tflops X`` gives one.
"""

from __future__ import annotations

import re

import torch

# Dense TFLOP/s by math, per card. Listed most specific first: "H100 NVL" and "H100 PCIe"
# before "H100" (the SXM card's name is "NVIDIA H100 80GB HBM3"); likewise the H200's. A
# name is matched whole (data_sheet_peak): the GH200's GPU is named apart, with its sheet.
DATA_SHEET_PEAKS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H100", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 67.0}),
    ("H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 67.0}),
    ("GH200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 67.0}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
)


def step_math(amp: str, cudnn_tf32: bool | None = None) -> str:
    """The math a training step's convolutions run in: "bf16", "fp16", "tf32" or "fp32".
    ``amp`` is the bench's ("off", "bf16", "fp16"); ``cudnn_tf32`` defaults to PyTorch's
    current ``torch.backends.cudnn.allow_tf32``."""
    if amp in ("bf16", "fp16"):
        return amp
    if cudnn_tf32 is None:
        cudnn_tf32 = cudnn_convs_in_tf32()
    return "tf32" if cudnn_tf32 else "fp32"


def cudnn_convs_in_tf32() -> bool:
    """Whether cuDNN may run fp32 convolutions in TF32: the newer ``fp32_precision`` where
    set (the convolutions', else cuDNN's, else the backends'), else ``allow_tf32``, which
    raises once the newer switches were set apart (a row timed, then lost to it)."""
    for switches in (getattr(torch.backends.cudnn, "conv", None), torch.backends.cudnn,
                     torch.backends):
        precision = getattr(switches, "fp32_precision", "none")
        if precision != "none":
            return precision == "tf32"
    try:
        return bool(torch.backends.cudnn.allow_tf32)
    except RuntimeError:
        return False


def data_sheet_peak(device_name: str, math: str) -> float | None:
    """The dense peak TFLOP/s of the card named ``device_name`` (as
    ``torch.cuda.get_device_name`` gives it) in ``math``; None for a card not listed. A
    listed name counts only whole: "A100" is in "RTX A1000", a far smaller card."""
    for key, peaks in DATA_SHEET_PEAKS:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", device_name):
            return peaks.get(math)
    return None


def device_peak(device: torch.device, amp: str) -> tuple[float | None, str]:
    """The peak a step on ``device`` with ``amp`` is measured against, and what it is
    ("H100 80GB HBM3, bf16 dense"); (None, "") off CUDA, for a card not listed and for a
    MIG slice ("A100-SXM4-40GB MIG 1g.10gb": a seventh of the card, not its peak)."""
    if device.type != "cuda":
        return None, ""
    name = torch.cuda.get_device_name(device).removeprefix("NVIDIA ")
    if "MIG" in name.split():
        return None, ""
    math = step_math(amp)
    peak = data_sheet_peak(name, math)
    return (peak, f"{name}, {math} dense") if peak is not None else (None, "")
