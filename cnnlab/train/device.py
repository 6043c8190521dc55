"""Which device a run uses, its default precision, its CPU threads, its peak memory; the
dtypes of the sums and counts kept on it (Apple's MPS holds no float64), and waiting for
the work queued on it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def select_device(name: str) -> torch.device:
    """``"auto"``: CUDA, then Apple's MPS, then the CPU; any other name as given, once
    it is known to be a device this machine has (else a ConfigError that says which)."""
    if name != "auto":
        return _checked_device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def mps_available() -> bool:
    """Whether this machine has Apple's MPS device for PyTorch to use."""
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _checked_device(name: str) -> torch.device:
    from cnnlab.train.config import ConfigError

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") \
            from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device {name!r}: this machine has no CUDA GPU that PyTorch "
                              f"{torch.__version__} can use; use --device cpu (or auto)")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"device {name!r}: this machine has {count} CUDA GPU(s), "
                              f"cuda:0 to cuda:{count - 1}")
    elif device.type == "mps":
        if not mps_available():
            raise ConfigError(f"device {name!r}: Apple's MPS is not available here; "
                              "use --device cpu (or auto)")
    elif device.type != "cpu" and not _accelerator_here(device.type):
        # "meta" (no data at all) passed here and failed in the data loader, a traceback;
        # an accelerator torch has a backend for (Intel's xpu) is let through where present.
        raise ConfigError(f"device {name!r}: not a device this machine can train on; "
                          "cnnlab trains on auto, cpu, cuda, cuda:N or mps")
    return device


def _accelerator_here(kind: str) -> bool:
    """Whether torch has a backend ``torch.<kind>`` (xpu, ...) and it sees a device."""
    available = getattr(getattr(torch, kind, None), "is_available", None)
    try:
        return callable(available) and bool(available())
    except Exception:  # a backend that fails to ask is one not to train on
        return False


def resolve_amp(amp: str, device: torch.device) -> str:
    """``"auto"``: bf16 autocast on CUDA, full precision elsewhere."""
    if amp == "auto":
        return "bf16" if device.type == "cuda" else "off"
    return amp


def autocast_context(device: torch.device, amp: str):
    """A block run in ``amp`` ("bf16", "fp16": autocast to it; else as it is)."""
    if amp in ("bf16", "fp16"):
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        return torch.autocast(device_type=device.type, dtype=dtype)
    return contextlib.nullcontext()


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run a block with torch's intra-op CPU threads set to ``threads`` (None: as they
    are), and put the process's count back however the block ends: the caller's next
    work (a notebook's cells, the next benchmark) runs as before. Yields the count in
    force in the block."""
    previous = torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def synchronize(device: torch.device) -> None:
    """Wait until the work queued on ``device`` has run (CUDA and MPS queue it; a CPU
    runs it as it is called). A clock read before this would time the queueing only."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def sum_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype of the loss and accuracy sums kept on ``device`` through an epoch:
    float64, except on Apple's MPS, which has no float64 (creating one there raises).
    float32 still counts images exactly up to 2**24, and sums a few thousand steps'
    losses to 5-6 significant digits."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def count_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype of the confusion matrix's counts on ``device``: int64, except on Apple's
    MPS, whose index_add_ refuses int64 until torch 2.9 (pytorch/pytorch#160926;
    Lightning-AI/pytorch-lightning#17683: "Expected non int64 dtype for source")."""
    return torch.int32 if torch.device(device).type == "mps" else torch.int64


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB (2**20 bytes; the name's ``mb`` is kept because every run's
    metrics.csv has a ``peak_memory_mb`` column). On a CUDA device: the peak allocated
    since its last reset. Elsewhere: the process's peak resident set since it began
    (there is no per-device counter); NaN where the system will not say."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import sys

    try:
        import resource
    except ImportError:  # Windows: no getrusage
        return _windows_peak_working_set() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # getrusage(2): ru_maxrss is in bytes on macOS, in KiB on Linux and the BSDs.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _windows_peak_working_set() -> float:
    """The process's peak working set in bytes (Windows' peak resident set), from
    psapi's GetProcessMemoryInfo; NaN if it cannot be read. (Written to Microsoft's
    documented PROCESS_MEMORY_COUNTERS; the suite runs on Linux, where this is NaN.)"""
    import math

    try:
        import ctypes
        from ctypes import wintypes

        class ProcessMemoryCounters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                        *[(name, ctypes.c_size_t) for name in (
                            "PeakWorkingSetSize", "WorkingSetSize",
                            "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                            "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage",
                            "PagefileUsage", "PeakPagefileUsage")]]

        kernel32, psapi = ctypes.WinDLL("kernel32"), ctypes.WinDLL("psapi")
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        psapi.GetProcessMemoryInfo.argtypes = [
            wintypes.HANDLE, ctypes.POINTER(ProcessMemoryCounters), wintypes.DWORD]
        psapi.GetProcessMemoryInfo.restype = wintypes.BOOL
        counters = ProcessMemoryCounters()
        counters.cb = ctypes.sizeof(counters)
        if not psapi.GetProcessMemoryInfo(kernel32.GetCurrentProcess(),
                                          ctypes.byref(counters), counters.cb):
            return math.nan
        return float(counters.PeakWorkingSetSize)
    except (ImportError, AttributeError, OSError, ValueError):  # not Windows, or refused
        return math.nan


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the device or the CPU ran out of memory. torch.OutOfMemoryError
    covers the CUDA allocator; the rest is in the text: cuDNN and cuBLAS report "CUDA
    error: out of memory" as a RuntimeError (AcceleratorError), torch.compile wraps a
    failure in its own error, MPS says "MPS backend out of memory", and the CPU allocator
    "DefaultCPUAllocator: can't allocate memory" or "not enough memory". Building a model
    (train/model_setup) and timing one (bench throughput, which then halves its batch)
    both ask here."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return any(words in text for words in ("out of memory", "defaultcpuallocator",
                                           "can't allocate memory", "not enough memory"))


# The one cuBLAS workspace size torch's deterministic mode asks for: unset, torch warns
# on the first matrix product (every Linear layer) that cuBLAS may not repeat itself.
CUBLAS_DETERMINISTIC = ":4096:8"


def use_deterministic_kernels(device: torch.device) -> None:
    """``--deterministic``: torch's deterministic kernels (an op that has none warns,
    naming itself, and runs), no cuDNN autotuning (it may pick another algorithm per
    run), and on CUDA the cuBLAS workspace torch needs for repeatable products; a
    CUBLAS_WORKSPACE_CONFIG the user set is kept. cuBLAS reads it at a process's first
    matrix product, after CUDA has started (torchrun's set_device starts it before the
    Trainer gets here), so it is set whenever it is not."""
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)


@contextlib.contextmanager
def torch_settings_kept():
    """torch's process-wide settings that a Trainer sets from its config (CPU threads,
    deterministic algorithms, cuDNN autotuning, the cuBLAS workspace variable) back as
    they were once the block ends, however it ends: a notebook's next cells, and the
    processes it starts, run as they did before training. (The global RNG stays as the
    run's seed left it: seeding it is what makes runs repeat.)"""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    workspace = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        with torch_threads(None):  # the Trainer sets cfg.threads
            yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        if workspace is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = workspace
