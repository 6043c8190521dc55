"""How a bench's rows are stored: JSON with the machine they were measured on, or CSV.

``cnnlab bench memory``, ``loader``, ``ops`` and ``throughput`` write through here (the
speedrun's study uses :func:`json_safe`), so their result files say where they came from,
in the same words as a training run's summary.json. The zoo's CSV is written here too,
after each model (a stopped zoo resumes from it).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cnnlab.atomic import atomic_write_text


def json_safe(value):
    """``value`` with every NaN or infinity replaced by None, for ``json.dumps(...,
    allow_nan=False)``: a bare NaN (a failed model's speed, a mean over no runs) is not
    JSON, and strict parsers (browsers' JSON.parse, jq, Go, Rust) refuse the whole file."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def bench_environment(device: str = "cpu", threads: int | None = None) -> dict:
    """A training run's record of the machine (``machine.environment_info``: versions, CPU,
    threads, command, date), plus what a timing needs beside it: the device measured, its
    GPU (environment_info names the first GPU, not necessarily the one timed), and the
    load average, which shows other work competing for the CPUs. ``threads``: the torch
    threads the timing ran on, where the bench set its own (the process has put its
    count back by the time the file is written)."""
    import torch

    from cnnlab.train.machine import environment_info

    env = environment_info()
    env["device"] = str(device)
    if threads is not None:
        env["torch_threads"] = threads
    if torch.device(device).type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    env["load_average"] = ([round(x, 2) for x in os.getloadavg()]
                           if hasattr(os, "getloadavg") else None)
    return env


def write_json(path: Path, rows, device: str = "cpu", threads: int | None = None) -> None:
    """``{"rows": rows, "environment": bench_environment(device, threads)}``, NaN written
    as null, replacing ``path`` atomically (a kill mid-write leaves the last whole file)."""
    payload = {"rows": rows, "environment": bench_environment(device, threads)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(json_safe(payload), indent=1, default=str,
                                       allow_nan=False))


def write_csv(path: Path, rows: list[dict], leave_out: Iterable[str] = (),
              columns: Sequence[str] | None = None) -> None:
    """``rows`` as CSV, replacing ``path`` atomically. The columns are ``columns`` (a row
    lacking one leaves its cell empty) or the first row's keys, less ``leave_out`` (text
    too long for a cell)."""
    dropped = set(leave_out)
    text = io.StringIO()
    writer = csv.DictWriter(text, [k for k in (columns or rows[0]) if k not in dropped],
                            restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text.getvalue())


# What a reader comparing CSV files from two machines needs on every row, after the row's
# own columns (a JSON file says it once, in its environment): the GPU or CPU, the torch
# threads, the versions that set the kernels, and when.
MACHINE_COLUMNS = ("machine", "torch_threads", "torch", "cuda", "cnnlab", "date")


def machine_name(device: str) -> str:
    """The GPU's name on CUDA; otherwise the CPU's model and how many CPUs it shows."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    from cnnlab.train.machine import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} CPUs"


def write_rows(path: Path, rows: list[dict], device: str = "cpu",
               leave_out: Iterable[str] = (), threads: int | None = None) -> None:
    """CSV when ``path`` ends in .csv (``leave_out`` dropped; each row with the
    :data:`MACHINE_COLUMNS`), else JSON with the machine (``threads``: as for
    :func:`bench_environment`)."""
    if path.suffix.lower() == ".csv":
        env = bench_environment(device, threads)
        machine = {"machine": machine_name(str(device)), "torch_threads": env["torch_threads"],
                   "torch": env["torch"], "cnnlab": env["cnnlab"], "date": env["date"],
                   "cuda": env.get("cuda", "") if str(device).startswith("cuda") else ""}
        rows = [{**row, **machine} for row in rows]
        write_csv(path, rows, leave_out, columns=[
            *[k for k in rows[0] if k not in MACHINE_COLUMNS], *MACHINE_COLUMNS])
    else:
        write_json(path, rows, device, threads)
