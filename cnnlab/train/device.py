"""Which device a run uses, its default precision, and its peak memory."""

from __future__ import annotations

import torch


def select_device(name: str) -> torch.device:
    """``"auto"``: CUDA, then Apple's MPS, then the CPU; any other name as given."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_amp(amp: str, device: torch.device) -> str:
    """``"auto"``: bf16 autocast on CUDA, full precision elsewhere."""
    if amp == "auto":
        return "bf16" if device.type == "cuda" else "off"
    return amp


def peak_memory_mb(device: torch.device) -> float:
    """Peak allocated memory on a CUDA device since its last reset; elsewhere the
    process's peak resident set (there is no per-device counter)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
