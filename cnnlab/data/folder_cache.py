"""The cache of decoded image folders: a folder's images decoded at one size and channel
count, kept under ``$CNNLAB_CACHE/folders/`` as a safetensors file and a JSON sidecar
(classes, skipped files), so that a second run starts at once. An entry is keyed by the
folder, the size, the channels and every file's name, size and times; a new one replaces
the folder's older entry at that size."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cnnlab import file_lock
from cnnlab.atomic import atomic_write_bytes, atomic_write_text, open_to_append
from cnnlab.data.dataset import DataWarning
from cnnlab.file_lock import LockState
from cnnlab.notices import warn_user

CACHE_FORMAT = 4  # bump when the cached layout or the decoding changes (2: 32-bit, float;
#                  3: 16-bit PNGs of 8- or 12-bit values kept, not black; 4: LAB TIFFs
#                  read in greyscale, once skipped as unreadable)


@dataclass(frozen=True)
class DecodedTree:
    """A folder's images decoded, as the cache keeps them."""

    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # int64 (N,)
    classes: list[str]
    skipped: list[tuple[str, str]]  # (relative path, reason)
    empty_classes: list[str]


def cache_key(root: Path, size: tuple[int, int], channels: int, files: list[Path]) -> str:
    """The entry's name: the decoding, the folder, the size and every file's stat."""
    h = hashlib.sha256()
    h.update(json.dumps([CACHE_FORMAT, str(root), size, channels]).encode())
    for path in files:
        stat = path.stat()
        # ctime too: a copy that keeps size and mtime (cp -p, rsync -t, a BMP of the same
        # size) was served the old pixels; no program sets ctime, a write always moves it.
        h.update(f"\n{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}"
                 f"\0{stat.st_ctime_ns}".encode())
    return h.hexdigest()[:32]


@contextlib.contextmanager
def decoding_lock(stem: Path) -> Iterator[bool]:
    """Hold the entry's lock while decoding it: the processes that want an entry not yet
    written (every rank of a torchrun job, runs started together) decode it once, the
    others wait and then read the cache (each had decoded the whole folder). Yields
    whether it waited for another process. No lock off POSIX (Windows): each decodes."""
    if file_lock.fcntl is None:  # no lock file to leave in the cache
        yield False
        return
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        handle = open_to_append(stem.with_suffix(".lock"), "a", encoding="utf-8")
    except OSError:  # a cache folder it may not write: no lock (nor cache) to share
        yield False
        return
    with handle:  # no word where a mount refuses locks (no `unguarded`): each process
        state = file_lock.try_lock(handle)  # decodes, which costs time and loses nothing
        waited = state is LockState.BUSY  # another process decodes it now
        if waited:
            state = file_lock.try_lock(handle, wait=None)  # until it has written it
        try:  # unlocked (LockState.NO_LOCKS) on a mount without locks: each decodes
            yield waited
        finally:
            if state is LockState.HELD:
                file_lock.unlock(handle)


def save_cache(stem: Path, decoded: DecodedTree, meta: dict) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "images": torch.from_numpy(decoded.images),
        "labels": torch.from_numpy(decoded.labels),
    }
    # Private (0600): decoded copies of someone's own images, in a shared home's cache.
    atomic_write_bytes(stem.with_suffix(".safetensors"), lambda p: save_file(tensors, p),
                       mode=0o600)
    sidecar = {
        **meta,
        "classes": decoded.classes,
        "skipped": [{"file": f, "reason": r} for f, r in decoded.skipped],
        "empty_classes": decoded.empty_classes,
    }
    # The sidecar is written last: its presence marks a complete cache entry.
    text = json.dumps(sidecar, indent=1)
    atomic_write_text(stem.with_suffix(".json"), text, mode=0o600)
    _remove_replaced_entries(stem, meta)


def _remove_replaced_entries(stem: Path, meta: dict) -> None:
    """Delete the entries ``stem`` replaces: the same folder decoded at the same size and
    channels before its files changed. Each was a whole decoded copy, never read again."""
    same = {key: meta[key] for key in ("path", "size", "channels")}
    for sidecar in stem.parent.glob("*.json"):
        if sidecar.stem == stem.name:
            continue
        try:
            old = json.loads(sidecar.read_text(encoding="utf-8"))
            if {key: old.get(key) for key in same} != json.loads(json.dumps(same)):
                continue
            sidecar.unlink()  # first: an entry without its sidecar is never read
            sidecar.with_suffix(".safetensors").unlink(missing_ok=True)
            sidecar.with_suffix(".lock").unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):
            continue  # another's entry, or one being written: left alone


def load_cache(stem: Path, shape: tuple[int, int, int]) -> DecodedTree | None:
    """The cached entry, or None when absent or not what ``stem`` should hold."""
    try:
        sidecar = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        tensors = load_file(stem.with_suffix(".safetensors"))
        decoded = DecodedTree(
            tensors["images"].numpy(),
            tensors["labels"].numpy(),
            list(sidecar["classes"]),
            [(s["file"], s["reason"]) for s in sidecar["skipped"]],
            list(sidecar["empty_classes"]),
        )
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        if stem.with_suffix(".json").exists():
            warn_user(f"ignoring unreadable cache {stem}: {exc}", DataWarning)
        return None
    images, labels = decoded.images, decoded.labels
    intact = (
        images.dtype == np.uint8
        and labels.dtype == np.int64
        and images.shape[1:] == shape
        and len(images) == len(labels)
        and (len(labels) == 0 or int(labels.max()) < len(decoded.classes))
    )
    if not intact:
        warn_user(f"ignoring inconsistent cache {stem}", DataWarning)
        return None
    return decoded
