"""The cache of decoded image folders: a folder's images decoded at one size and channel
count, kept under ``$CNNLAB_CACHE/folders/`` as a safetensors file and a JSON sidecar
(classes, skipped files), so that a second run starts at once. An entry is keyed by the
folder, the size, the channels and every file's name, size and times.

The cache does not grow for ever: when an entry is written, the entries no run will read
again are removed (:func:`_remove_stale_entries`): the same folder's older one at that size
and channels, those of folders deleted since, and pieces a killed write left. An entry
another process holds the lock of (decoding it now) is left alone. ``cnnlab data cache``
lists the entries and clears them (:func:`cache_entries`, :func:`remove_entry`).

Every write holds its entry's lock from before its first piece to after its last
(:func:`decoding_lock`), so pieces beside a lock no one holds are a killed write's, gone
at once; only where that cannot be told (no lock file, a mount without locks) do they wait
``UNFINISHED_AFTER_S``. In a cache users share, another user's entry is never read (its
pixels and labels could be anything), waited on, written over or removed: this user
keeps an entry of their own beside it (:func:`cache_key`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from cnnlab import file_lock
from cnnlab.atomic import atomic_write_bytes, atomic_write_text, open_to_append
from cnnlab.data.access import others_files, owner, user_id
from cnnlab.data.dataset import DataWarning, cache_root
from cnnlab.data.folder_files import readable_name
from cnnlab.file_lock import LockState
from cnnlab.notices import warn_user

CACHE_FORMAT = 4  # bump when the cached layout or the decoding changes (2: 32-bit, float;
#                  3: 16-bit PNGs of 8- or 12-bit values kept, not black; 4: LAB TIFFs
#                  read in greyscale, once skipped as unreadable)
# A cache folder's file that is no sidecar, tensors or lock of an entry none is writing:
# a write killed midway (or on a mount without locks, still going) once this old.
UNFINISHED_AFTER_S = 3600


def entries_folder() -> Path:
    """Where the entries are: ``$CNNLAB_CACHE/folders``."""
    return cache_root() / "folders"


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
        # A name's own bytes: one not in UTF-8 (a Latin-1 archive's "\xe9t\xe9.png") is
        # held in surrogates, which a plain encode() refused, ending the load in a traceback.
        h.update(f"\n{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}"
                 f"\0{stat.st_ctime_ns}".encode("utf-8", "surrogateescape"))
    key = h.hexdigest()[:32]
    # Another user decoded the same folder into a cache both share: their entry is not
    # read (nor replaced, nor its lock waited on), so this user's goes under a key of
    # their own. A private cache holds none, and keeps the keys it had.
    if others_files([entries_folder() / f"{key}{suffix}" for suffix in _PARTS]):
        key = hashlib.sha256(f"{key}\0uid {user_id()}".encode()).hexdigest()[:32]
    return key


_PARTS = (".json", ".safetensors", ".lock")  # an entry's files, temporary ones aside


@contextlib.contextmanager
def decoding_lock(stem: Path) -> Iterator[bool]:
    """Hold the entry's lock while decoding it: the processes that want an entry not yet
    written (every rank of a torchrun job, runs started together) decode it once, the
    others wait and then read the cache (each had decoded the whole folder). Yields
    whether it waited for another process. No lock off POSIX (Windows): each decodes."""
    handle, state, waited = _take_decoding_lock(stem) if file_lock.fcntl else (None, None, False)
    if handle is None:  # no lock file to leave in the cache (Windows), or none to take
        yield False
        return
    with handle:
        try:  # unlocked (LockState.NO_LOCKS) on a mount without locks: each decodes
            if state is LockState.HELD:
                _remove_killed_writes(stem)
            yield waited
        finally:
            if state is LockState.HELD:
                file_lock.unlock(handle)


def _take_decoding_lock(stem: Path):
    """The entry's lock file, open, and what locking it came to, once no other process
    of this user holds it; and whether it waited. (None, None, False) where there is
    none to take: a cache folder it may not write, or a lock file another user made
    (not waited on: nothing bounds how long they hold it)."""
    lock, waited = stem.with_suffix(".lock"), False
    while True:
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            handle = open_to_append(lock, "a", encoding="utf-8")
        except OSError:  # a cache folder it may not write: no lock (nor cache) to share
            return None, None, False
        if others_files([lock]):
            handle.close()
            return None, None, False
        # No word where a mount refuses locks (no `unguarded`): each process decodes,
        # which costs time and loses nothing.
        state = file_lock.try_lock(handle)
        if state is LockState.BUSY:  # another process decodes it now
            waited = True
            state = file_lock.try_lock(handle, wait=None)  # until it has written it
        if state is not LockState.HELD or _same_file(handle, lock):
            return handle, state, waited
        # A prune removed the lock file while this waited on it: the next process would
        # make a new one, and decode beside this one. Lock the file at the name now.
        file_lock.unlock(handle)
        handle.close()


def _same_file(handle, path: Path) -> bool:
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _remove_killed_writes(stem: Path) -> None:
    """Delete the temporary files of ``stem``'s writes, whose lock this process holds
    now: every write holds it, so they are the leftovers of one killed midway (each up
    to a whole decoded copy of the folder). Another user's are left to them."""
    leftovers = list(stem.parent.glob(f".{stem.name}.*.tmp"))
    others = others_files(leftovers)
    for path in leftovers:
        if path not in others:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


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
    _remove_stale_entries(stem, meta)


def _remove_stale_entries(stem: Path, meta: dict) -> None:
    """Delete the entries no run will read again, now that ``stem`` is written: the same
    folder decoded at the same size and channels before its files changed (``stem``
    replaces it), those of folders deleted since, and what a write killed midway left
    (tensors without their sidecar, a temporary file). Each was up to a whole decoded
    copy of a dataset. An entry whose lock another process holds is left alone."""
    same = json.loads(json.dumps({key: meta[key] for key in ("path", "size", "channels")}))
    for key, files in _files_by_entry(stem.parent).items():
        if key == stem.name:
            continue
        entry = _entry(stem.parent / key, files)
        old = entry.sidecar or {}
        replaced = all(old.get(k) == v for k, v in same.items()) and not (
            isinstance(old.get("format"), int) and old["format"] > CACHE_FORMAT)  # a newer cnnlab's
        if entry.state in ("folder gone", "unfinished") or (replaced and entry.state == "ok"):
            remove_entry(entry)


_KEY_CHARS = frozenset("0123456789abcdef")


def _files_by_entry(folder: Path) -> dict[str, list[Path]]:
    """The cache folder's files by the entry (key) they belong to: its sidecar, tensors,
    lock, and the temporary files of its writes (``.KEY.json.XXXXXXXX.tmp``). Files of
    other names are nobody's entry, and left alone."""
    by_key: dict[str, list[Path]] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:  # no cache yet, or one this user may not read
        return by_key
    for name in names:
        key = (name[1:] if name.startswith(".") and name.endswith(".tmp") else name)
        key = key.split(".", 1)[0]
        if len(key) == 32 and set(key) <= _KEY_CHARS:
            by_key.setdefault(key, []).append(folder / name)
    return by_key


@dataclass(frozen=True)
class CacheEntry:
    """One entry of the cache, as ``cnnlab data cache`` lists it."""

    stem: Path
    files: list[Path]
    sidecar: dict | None  # None: none yet (being written, or a write killed), or unreadable
    # "ok", "folder gone", "being written", "unfinished" (a write killed), "unreadable",
    # "another user's" (in a cache users share: never read nor removed by this user)
    state: str
    nbytes: int

    @property
    def folder(self) -> str | None:
        path = (self.sidecar or {}).get("path")
        return path if isinstance(path, str) else None

    def images(self) -> int | None:
        """How many images the entry holds (read from its tensors' header), or None."""
        try:
            with safe_open(self.stem.with_suffix(".safetensors"), framework="pt") as f:
                return int(f.get_slice("images").get_shape()[0])
        except (OSError, SafetensorError, KeyError, IndexError, ValueError):
            return None


def cache_entries(folder: Path | None = None) -> list[CacheEntry]:
    """Every entry in the cache folder (default: :func:`entries_folder`), sorted by the
    folder each decoded."""
    folder = entries_folder() if folder is None else folder
    entries = [_entry(folder / key, files) for key, files in _files_by_entry(folder).items()]
    return sorted(entries, key=lambda e: (e.folder or "", str(e.stem)))


def _entry(stem: Path, files: list[Path]) -> CacheEntry:
    nbytes, newest = 0, 0.0
    for path in files:
        with contextlib.suppress(OSError):  # removed meanwhile
            stat = path.stat()
            nbytes, newest = nbytes + stat.st_size, max(newest, stat.st_mtime)
    sidecar, state = None, "ok"
    if _locked_elsewhere(stem):
        state = "being written"
    elif others_files(files):
        state = "another user's"
    try:
        sidecar = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if not isinstance(sidecar, dict):
            raise ValueError("no JSON object")
    except FileNotFoundError:
        sidecar = None
        if state == "ok":  # no sidecar: a write in progress, or killed before its end
            old = time.time() - newest > UNFINISHED_AFTER_S
            state = "unfinished" if old or _lock_free(stem) else "being written"
    except (OSError, ValueError):  # another user's entry (0600), or damaged
        sidecar, state = None, "unreadable" if state == "ok" else state
    if state == "ok" and sidecar is not None and _folder_gone(sidecar):
        state = "folder gone"
    return CacheEntry(stem, files, sidecar, state, nbytes)


def _locked_elsewhere(stem: Path) -> bool:
    """Whether another process holds the entry's lock now (decoding it)."""
    return file_lock.held_by(stem.with_suffix(".lock")) is not None


def _lock_free(stem: Path) -> bool:
    """Whether the entry's lock file is this user's and no process holds its lock, so
    that no write of it is going on (each holds it throughout). Not where that cannot be
    told: no lock file (a write that could not make one), a mount without locks."""
    lock = stem.with_suffix(".lock")
    if file_lock.fcntl is None or others_files([lock]):
        return False
    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        return file_lock.probe(fd) is LockState.HELD
    finally:
        os.close(fd)


def _folder_gone(sidecar: dict) -> bool:
    """Whether the folder the entry decoded was deleted (or moved). One on a drive not
    mounted now is not gone: the entry keeps the folder's device, and the nearest folder
    above it that is there now must be on that device (an unmounted drive's mount point
    is on another). Entries written before the device was kept count a folder as gone
    when the folder that held it is there, and not empty (an empty one may be the mount
    point of a drive not mounted now)."""
    path = sidecar.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        return False
    try:
        os.stat(path)
        return False
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError:  # not allowed to look: not known to be gone
        return False
    above = Path(path).parent
    try:
        while not above.exists():
            above = above.parent
        device = sidecar.get("device")
        if isinstance(device, int):
            return above.stat().st_dev == device
        return above == Path(path).parent and any(above.iterdir())
    except OSError:
        return False


def remove_entry(entry: CacheEntry) -> bool:
    """Delete ``entry``'s files, unless another process decodes it now or one of them is
    another user's (in a cache users share); whether it did (a file this user may not
    delete keeps the rest). The sidecar goes first: an entry without one is never read;
    the lock last, held meanwhile, so that no write starts on what is being removed."""
    if others_files(entry.files):
        return False
    with _removal_lock(entry.stem) as free:
        if not free:
            return False
        try:
            for path in sorted(entry.files, key=lambda p: (p.suffix != ".json",
                                                           p.suffix == ".lock")):
                path.unlink(missing_ok=True)
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _removal_lock(stem: Path) -> Iterator[bool]:
    """Hold the entry's lock while its files are removed; yields False where another
    process holds it (decoding it now). Where it cannot be taken (no lock file, none
    this user may open, a mount without locks), whether another process holds it."""
    try:  # read-write: NFS takes an exclusive flock only through a file open to write
        fd = os.open(stem.with_suffix(".lock"), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        yield not _locked_elsewhere(stem)
        return
    try:
        state = file_lock.try_lock(fd)
        try:
            yield state is not LockState.BUSY
        finally:
            if state is LockState.HELD:
                file_lock.unlock(fd)
    finally:
        os.close(fd)


# The entries told of already: a load looks twice (before and after taking the lock).
_told_not_readable: set[Path] = set()


def _warn_not_read(stem: Path, why: str) -> None:
    """Say once that ``stem`` is an entry this user does not read (``why``): another
    user's, in a cache shared between users, so the folder is decoded anew each run."""
    if stem in _told_not_readable:
        return
    _told_not_readable.add(stem)
    warn_user(f"the cached decode {stem} is {why}, so the folder is decoded anew on every "
              "run: entries are private to the user who wrote them; set CNNLAB_CACHE to a "
              "folder of your own to keep yours", DataWarning)


def load_cache(stem: Path, shape: tuple[int, int, int]) -> DecodedTree | None:
    """The cached entry, or None when absent or not what ``stem`` should hold, or
    another user's: anyone who may write in a shared cache could have put any pixels
    and labels there (safetensors and JSON, so reading one never runs code)."""
    if theirs := others_files([stem.with_suffix(".json"), stem.with_suffix(".safetensors")]):
        who = owner(theirs[0]) or "another user"
        _warn_not_read(stem, f"{who}'s, not this user's, and not read (it could hold "
                             "any images and labels)")
        return None
    try:
        sidecar = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        tensors = load_file(stem.with_suffix(".safetensors"))
        decoded = DecodedTree(
            tensors["images"].numpy(),
            tensors["labels"].numpy(),
            # Names as text (readable_name): an entry decoded before kept surrogates.
            [readable_name(c) for c in sidecar["classes"]],
            [(readable_name(s["file"]), s["reason"]) for s in sidecar["skipped"]],
            [readable_name(c) for c in sidecar["empty_classes"]],
        )
    except PermissionError as exc:
        why = (exc.strerror or str(exc)).lower()
        if who := owner(stem.with_suffix(".json")):
            why += f"; it belongs to {who}"
        _warn_not_read(stem, f"not readable by this user ({why})")
        return None
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
