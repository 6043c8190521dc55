"""Checkpoints: one safetensors file per checkpoint, written atomically.

Layout of ``checkpoints/<tag>.safetensors`` (tag is ``last`` or ``best``):

- tensors ``model.*`` (the weights), ``ema.*`` (the weight EMA, if any), ``eval.*``
  (the weights evaluation uses when neither of those: Lookahead's, in ``last``),
  ``optim.<param index>.<key>`` (optimizer state tensors) and ``rng.*`` (generator
  states as uint8 tensors);
- the header's metadata holds ``cnnlab_state``: JSON with the epoch, step, best
  accuracy, optimizer hyper-parameters and scheduler state, and (``written_by``, since
  2026-12-06) the code, torch and device that wrote it (:func:`written_by`).

A readable copy of that JSON is written beside it as ``<tag>.json``; loading only
trusts the safetensors file. Nothing here unpickles: safetensors and JSON only.

Atomicity (``cnnlab.atomic``): a process killed at any moment leaves either the old
checkpoint or the new one, never a half-written file under the real name.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save_file

from cnnlab.atomic import atomic_write_bytes, atomic_write_text
from cnnlab.train.device import mps_available

STATE_KEY = "cnnlab_state"


# --- RNG state ---------------------------------------------------------------

def capture_rng_state() -> dict[str, torch.Tensor]:
    """torch's generators: the global one (dropout's masks, on the CPU), CUDA's and MPS's.
    Python's ``random`` and NumPy's are not training's (the loader has generators of its
    own; nothing in cnnlab draws from those two), so they are neither saved nor restored:
    restored, a ``resume()`` in a notebook reset the caller's own ``random`` state."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    if mps_available():  # Apple's GPU has a generator of its own (dropout draws from it)
        tensors["rng.mps"] = torch.mps.get_rng_state()
    return tensors


def restore_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    """The generators :func:`capture_rng_state` saved (a checkpoint's ``rng`` group). The
    Python and NumPy states an older checkpoint holds in its JSON are left unread."""
    torch.set_rng_state(tensors["rng.torch"])
    # By device number (as text, "rng.cuda.10" sorted before "rng.cuda.2"), as many as
    # this machine has (a checkpoint from one with more GPUs is resumed on fewer).
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")),
                  key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        for device, key in enumerate(cuda[:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(tensors[key], device)
    if "rng.mps" in tensors and mps_available():
        try:
            torch.mps.set_rng_state(tensors["rng.mps"])
        except RuntimeError as exc:  # torch 2.5 added 8 bytes to it (pytorch#130662)

            from cnnlab.notices import CnnlabWarning, warn_user

            warn_user(f"the checkpoint's Apple GPU (MPS) random state is not this "
                      f"PyTorch's ({exc}): saved by another version? Training goes on, "
                      "but its dropout draws no longer continue the interrupted run's",
                      CnnlabWarning)


def _rng_record_for_older_versions() -> dict[str, Any]:
    """Python's and NumPy's generator states, written and never read: cnnlab before
    2026-12-06 requires them to resume a checkpoint (it called one without them damaged).
    Read, not set: the caller's own ``random`` state is left as it is."""
    kind, keys, *rest = np.random.get_state()
    return {"python": _as_lists(random.getstate()), "numpy": [kind, keys.tolist(), *rest]}


def _as_lists(obj):
    return [_as_lists(o) for o in obj] if isinstance(obj, (tuple, list)) else obj


# --- what wrote it ---------------------------------------------------------------

def written_by(device: torch.device | str) -> dict[str, Any]:
    """What decides whether a run resumed from a checkpoint written now continues bit for
    bit as the uninterrupted run would: cnnlab's code (its version, 0.1.0 for every
    commit, and the digest of its sources: cnnlab/code_version.py's fingerprint), torch's
    version, the kind of device, and on a CPU the thread count (a sum split among other
    threads differs in its last bits), on a GPU its model and cuDNN (other kernels).
    Each is cheap: the digest is computed once per process (some 5 to 30 ms)."""
    from cnnlab.code_version import code_fingerprint

    code = code_fingerprint()  # its package path is left out: where, not which code
    device = torch.device(device)
    stamp: dict[str, Any] = {"cnnlab": code["cnnlab"], "sources": code["sources"],
                             "torch": code["torch"], "device": device.type}
    if device.type == "cpu":
        stamp["torch_threads"] = torch.get_num_threads()
    elif device.type == "cuda":
        stamp["gpu"] = torch.cuda.get_device_name(device)
        stamp["cudnn"] = torch.backends.cudnn.version()
    return stamp


# --- optimizer state -----------------------------------------------------------

def split_optimizer_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors of ``optimizer.state_dict()`` go to safetensors, the rest to JSON."""
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict] = {}
    for idx, pstate in state_dict["state"].items():
        plain_state[str(idx)] = {}
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                plain_state[str(idx)][key] = value
    return tensors, {"state": plain_state, "param_groups": state_dict["param_groups"]}


def join_optimizer_state(tensors: dict[str, torch.Tensor], plain: dict) -> dict:
    state: dict[int, dict] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": plain["param_groups"]}


# --- save / load ---------------------------------------------------------------

def save_checkpoint(
    path: Path,
    model_state: dict[str, torch.Tensor],
    state: dict[str, Any],
    optimizer_state: dict | None = None,
    ema_state: dict[str, torch.Tensor] | None = None,
    eval_state: dict[str, torch.Tensor] | None = None,
    other_ranks_rng: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write one checkpoint file (plus its readable JSON copy) atomically. ``eval_state``:
    the weights evaluation uses when they are neither the live ones nor the EMA's
    (Lookahead's), so reading the checkpoint back needs no optimizer. ``other_ranks_rng``:
    under torchrun, the other ranks' RNG states (``rng.rank<r>.*``)."""
    tensors = {f"model.{k}": v for k, v in model_state.items()}
    if ema_state is not None:
        tensors.update({f"ema.{k}": v for k, v in ema_state.items()})
    if eval_state is not None:
        tensors.update({f"eval.{k}": v for k, v in eval_state.items()})
    state = dict(state)
    if optimizer_state is not None:
        opt_tensors, opt_plain = split_optimizer_state(optimizer_state)
        tensors.update(opt_tensors)
        state["optimizer"] = opt_plain
    tensors.update(capture_rng_state())
    tensors.update(other_ranks_rng or {})
    state.setdefault("rng", _rng_record_for_older_versions())
    # safetensors refuses shared or non-contiguous storage; copies are cheap here.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    text = json.dumps(state)
    atomic_write_bytes(path, lambda tmp: _save_file(tensors, tmp, text, path))
    atomic_write_text(path.with_suffix(".json"), json.dumps(_readable(state), indent=1))


def _save_file(tensors: dict[str, torch.Tensor], tmp: str, text: str, path: Path) -> None:
    """safetensors' ``save_file``, its I/O failures raised as the OSError they are: it
    reports a full or failing disk as a SafetensorError ("I/O error: No space left on
    device (os error 28)"), which no caller takes for an OSError (`cnnlab train` ended in
    a traceback)."""
    try:
        save_file(tensors, tmp, metadata={STATE_KEY: text})
    except SafetensorError as exc:
        code = re.search(r"\(os error (\d+)\)", str(exc))
        if code is not None:
            number = int(code.group(1))
            raise OSError(number, os.strerror(number), str(path)) from exc
        if "I/O error" in str(exc):
            raise OSError(f"{path}: {exc}") from exc
        raise


def _readable(state: dict) -> dict:
    """The state as its readable copy shows it: without the generator record kept for
    older versions (some 1,250 numbers, most of the copy, that no one reads)."""
    return {k: v for k, v in state.items() if k != "rng"}


def mend_readable_copy(path: Path) -> None:
    """Rewrite the readable ``.json`` copy of the checkpoint at ``path`` where it is
    missing or not that checkpoint's (a kill between the two writes leaves it an epoch
    behind; the next save mends it, but after a run's last checkpoint none comes)."""
    if not path.is_file():
        return
    state = _readable(load_checkpoint(path)[1])
    copy = path.with_suffix(".json")
    try:
        if json.loads(copy.read_text(encoding="utf-8")) == state:
            return
    except (OSError, ValueError):
        pass  # missing or torn: written below
    atomic_write_text(copy, json.dumps(state, indent=1))


def _open_checkpoint(path: Path):
    return open(path, "rb")


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's bytes: an 8-byte little-endian header
    length, then the JSON header."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or size > len(data) - 8:
        raise ValueError(_not_safetensors(data[:9], len(data)))
    header = json.loads(data[8:8 + size])
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object: not a safetensors file")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise ValueError("its header's __metadata__ is not a JSON object: not a safetensors "
                         "file as safetensors writes them")
    return metadata


_COPY = "a write or copy was cut short: copy it again from where it came from"


def _not_safetensors(head: bytes, size: int) -> str:
    """What a file whose first 9 bytes, ``head``, claim no safetensors header it holds
    is instead, for the message refusing it (a .pth renamed was "truncated"). A pickle
    starts with 0x80, as does the length of a 640-byte safetensors header: that one's
    JSON follows, "{" at byte 8 (a file cut short was called a pickle)."""
    if size == 0:
        return f"it is empty (0 bytes); {_COPY}"
    if head.startswith(b"PK\x03\x04") or (head.startswith(b"\x80") and head[8:9] != b"{"):
        return ("it is a PyTorch pickle (torch.save's .pth), not safetensors: a run's "
                "checkpoints are safetensors, and cnnlab never unpickles them; to start a "
                "run from that file's weights: cnnlab train MODEL --weights FILE.pth")
    return f"its header is longer than the file: {_COPY}, or it is no safetensors file"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message names the file."""


def load_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Returns ({"model": ..., "ema": ..., "eval": ..., "optim": ..., "rng": ...}, state)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # One read of one open file for both the state and the tensors: the file may be
        # replaced by a new checkpoint at any moment, and opening it twice could pair one
        # write's state with the next write's weights. (safetensors' safe_open does open
        # it twice: its header, then torch's from_file by name; a kill -9 test caught a
        # torn read there once.)
        with _open_checkpoint(path) as fh:
            data = fh.read()
        meta = _safetensors_metadata(data)
        tensors = safetensors_load(data)
    except Exception as exc:
        why = str(exc)
        # safetensors' words for tensors cut off (0.4's: "MetadataIncompleteBuffer")
        if "not fully covered" in why or "MetadataIncompleteBuffer" in why:
            why = f"cut short: its tensors need more than the file's {len(data):,} bytes; {_COPY}"
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({why})") from exc
    if STATE_KEY not in meta:
        raise CheckpointError(f"{path}: a weights file, not a cnnlab training checkpoint")
    groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "ema": {}, "eval": {},
                                                  "optim": {}, "rng": {}}
    try:
        state = json.loads(meta[STATE_KEY])
        if not isinstance(state, dict):
            raise ValueError("its training state is not a JSON object")
        for name, value in tensors.items():
            group, dot, rest = name.partition(".")
            if group not in groups or not dot:
                raise ValueError(f"a tensor named {name!r} is in none of its parts "
                                 f"({', '.join(g + '.' for g in groups)})")
            groups[group][name if group in ("optim", "rng") else rest] = value
    except ValueError as exc:  # json's errors are ValueErrors too
        raise CheckpointError(f"{path}: not a cnnlab training checkpoint ({exc}); a "
                              "damaged or hand-made file") from None
    return groups, state


# A checkpoint's weight groups, in the order the weights its run evaluated are found:
# the EMA's, Lookahead's (``last`` without an EMA), else the model's own.
EVALUATED_GROUPS = ("ema", "eval", "model")


def evaluated_weights(groups: dict[str, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The weights a checkpoint's run evaluated, of ``load_checkpoint``'s groups: what
    ``cnnlab eval`` of the checkpoint measures and its report gives."""
    return next(groups[g] for g in EVALUATED_GROUPS if groups[g] or g == "model")


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a cnnlab training checkpoint: a safetensors file whose header
    holds the training state. Reads the header alone, to tell a checkpoint from another
    weights file; its contents are read by :func:`load_checkpoint`."""
    try:
        return STATE_KEY in _header_metadata(path)
    except (OSError, ValueError):  # unreadable, not JSON, not safetensors' header
        return False


def _header_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of the safetensors file at ``path``, from its header alone
    (the length it claims checked against the file's, before anything that long is read:
    another file's first 8 bytes can claim exabytes)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        size = int.from_bytes(head, "little")
        if len(head) < 8 or size > Path(path).stat().st_size - 8:
            raise ValueError(_not_safetensors(head + fh.read(1), Path(path).stat().st_size))
        return _safetensors_metadata(head + fh.read(size))


def read_state(path: Path) -> dict[str, Any]:
    """The training state of checkpoint ``path`` (epoch, clocks, best accuracy,
    preprocessing, config), from its header alone: no tensor is read."""
    try:
        text = _header_metadata(path).get(STATE_KEY)
        state = json.loads(text) if text is not None else None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable cnnlab training checkpoint "
                              f"({exc})") from None
    if text is None:
        raise CheckpointError(f"{path}: a weights file, not a cnnlab training checkpoint")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: its training state is not a JSON object; a damaged "
                              "or hand-made file")
    return state


def weights_from_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(the weights its run evaluated, the ``model_overrides`` its run built the model
    with, {} when none) of checkpoint ``path``, from one read (:func:`load_checkpoint`):
    for starting another model from a run's checkpoint."""
    groups, state = load_checkpoint(path)
    config = state.get("config")
    overrides = config.get("model_overrides") if isinstance(config, dict) else None
    return evaluated_weights(groups), dict(overrides) if isinstance(overrides, dict) else {}


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers_or_none(value) -> bool:
    return value is None or (isinstance(value, list) and all(map(_number, value)))


def _preprocess(value) -> bool:
    # An image side past 8192 would have eval allocate terabytes for a model's input.
    return (isinstance(value, dict) and _count(value.get("channels")) and
            1 <= value["channels"] <= 4 and _count(value.get("image_size")) and
            1 <= value["image_size"] <= 8192 and _numbers_or_none(value.get("mean")) and
            _numbers_or_none(value.get("std")) and set(value) <= {
                "channels", "image_size", "mean", "std", "channels_last"})


# What each value a caller reads must be: a crafted or damaged state gave tracebacks (a
# class count of "5", a string epoch), or worse, a 100,000-pixel side to allocate.
_STATE_KINDS = {
    "epoch": _count, "step_in_epoch": _count, "best_test_acc": _number, "train_time": _number,
    "classes": lambda v: isinstance(v, list) and bool(v) and all(isinstance(c, str) for c in v),
    "preprocess": _preprocess,
    **{key: lambda v: isinstance(v, dict) for key in ("partial", "scheduler", "scaler",
                                                      "optimizer")},
}


def require_state(state: dict, keys: tuple[str, ...], path: Path) -> None:
    """A checkpoint's state holds ``keys`` (what the caller reads), each of its kind, or
    a clear error."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"{path}: its training state lacks {', '.join(missing)}; a "
                              "damaged or hand-made checkpoint")
    wrong = [k for k in keys if not _STATE_KINDS.get(k, lambda v: True)(state[k])]
    if wrong:
        shown = ", ".join(f"{k} = {json.dumps(state[k])[:60]}" for k in wrong)
        raise CheckpointError(f"{path}: its training state holds what no training writes "
                              f"({shown}); a damaged or hand-made checkpoint")
