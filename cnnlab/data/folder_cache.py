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
(``cache_lock``), so pieces beside a lock no one holds, untouched for ten minutes
(``WRITING_GRACE_S``: another host's write, where flock is local to each host), are a
killed write's; where that cannot be told (no lock file, a mount without locks) they wait
``UNFINISHED_AFTER_S``. In a cache users share, another user's entry is never read (its
pixels and labels could be anything), waited on, written over or removed: this user
keeps an entry of their own beside it (:func:`cache_key`). "This user's" files are those
owned as the files this process makes there are (``access.own_uid``): on a mount that maps
every owner to one user, all of them."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load, load_file, save_file

from cnnlab.atomic import DISK_FULL, atomic_write_bytes, atomic_write_text
from cnnlab.data.access import OthersFile, open_own, other_users_files, owner, user_id
from cnnlab.data.cache_lock import (
    WRITING_GRACE_S,
    decoding_lock,  # noqa: F401 (folder.py takes it from here)
    lock_free,
    locked_elsewhere,
    removal_lock,
)
from cnnlab.data.dataset import DataError, DataWarning, cache_root
from cnnlab.data.folder_files import readable_name
from cnnlab.notices import warn_user
from cnnlab.shell_words import shell_quote

CACHE_FORMAT = 5  # bump when the cached layout or the decoding changes (2: 32-bit, float;
#                  3: 16-bit PNGs of 8- or 12-bit values kept, not black; 4: LAB TIFFs
#                  read in greyscale, once skipped as unreadable; 5: a large photo decoded
#                  smaller first, image_file.shrunk, as predict decodes it)
# In a non-square size's key too (f7f732d): Pillow 9.4 cut a PNG turned by both EXIF and
# XMP the wrong way round. Only a non-square cut is changed by a turn, so only such
# entries are decoded again; a square one keeps its key (a bump re-decodes every folder
# of every user). Drop it at the next bump of CACHE_FORMAT.
NON_SQUARE_CUT = "turned-once"
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
    """The entry's name: from the decoding, the folder, the size and every file's stat;
    and from who owns the files already at that name: where another user's entry is
    there (a cache users share), a name of this user's own (its files never mix)."""
    h = hashlib.sha256()
    cut = [] if size[0] == size[1] else [NON_SQUARE_CUT]
    h.update(json.dumps([CACHE_FORMAT, str(root), size, channels, *cut]).encode())
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
    if other_users_files([entries_folder() / f"{key}{suffix}" for suffix in _PARTS]):
        key = hashlib.sha256(f"{key}\0uid {user_id()}".encode()).hexdigest()[:32]
    return key


_PARTS = (".json", ".safetensors", ".lock")  # an entry's files, temporary ones aside


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


class CacheFolderError(DataError):
    """The cache folder is there, and this user may not list it (or it is no folder)."""


def _files_by_entry(folder: Path, must_list: bool = False) -> dict[str, list[Path]]:
    """The cache folder's files by the entry (key) they belong to: its sidecar, tensors,
    lock, and the temporary files of its writes (``.KEY.json.XXXXXXXX.tmp``). Files of
    other names are nobody's entry, and left alone. ``must_list``: a folder there that
    cannot be listed is a CacheFolderError (`data cache` said it was empty)."""
    by_key: dict[str, list[Path]] = {}
    try:
        names = sorted(os.listdir(folder))
        if must_list and not os.access(folder, os.R_OK | os.X_OK):  # names, and no entry
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
    except FileNotFoundError:  # no cache yet
        return by_key
    except OSError as exc:  # one this user may not read: a write just made says why
        if must_list:
            raise CacheFolderError(cache_not_kept(folder, "cannot list the folder cache "
                                                  f"{folder}", exc, decoded=False)) from None
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
    entries = [_entry(folder / key, files)
               for key, files in _files_by_entry(folder, must_list=True).items()]
    return sorted(entries, key=lambda e: (e.folder or "", str(e.stem)))


def _entry(stem: Path, files: list[Path]) -> CacheEntry:
    nbytes, newest = 0, 0.0
    for path in files:
        with contextlib.suppress(OSError):  # removed meanwhile
            stat = path.stat()
            nbytes, newest = nbytes + stat.st_size, max(newest, stat.st_mtime)
    sidecar, state = None, "ok"
    if locked_elsewhere(stem):
        state = "being written"
    elif other_users_files(files):
        state = "another user's"
    try:
        sidecar = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if not isinstance(sidecar, dict):
            raise ValueError("no JSON object")
    except FileNotFoundError:
        sidecar = None
        if state == "ok":  # no sidecar: a write in progress, or killed before its end
            age = time.time() - newest
            killed = age > UNFINISHED_AFTER_S or (age > WRITING_GRACE_S and lock_free(stem))
            state = "unfinished" if killed else "being written"
    except (OSError, ValueError):  # another user's entry (0600), or damaged
        sidecar, state = None, "unreadable" if state == "ok" else state
    if state == "ok" and sidecar is not None and _folder_gone(sidecar):
        state = "folder gone"
    return CacheEntry(stem, files, sidecar, state, nbytes)


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
    if other_users_files(entry.files):
        return False
    with removal_lock(entry.stem) as free:
        if not free:
            return False
        try:
            for path in sorted(entry.files, key=lambda p: (p.suffix != ".json",
                                                           p.suffix == ".lock")):
                path.unlink(missing_ok=True)
        except OSError:
            return False
    return True


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


def _warn_unusable(stem: Path, what: str) -> None:
    """Say once that the cache cannot keep ``stem``'s folder (``what``: why), and the fix:
    the words for another user's entry (private to them) misled about one's own folder."""
    if stem not in _told_not_readable:
        _told_not_readable.add(stem)
        warn_user(cache_not_kept(stem.parent, what), DataWarning)


def warn_not_written(stem: Path, exc: OSError) -> None:
    """Say that ``stem`` could not be written (``exc``), unless the folder was already
    said to be unreadable (a second warning on it only repeated the first)."""
    if stem not in _told_not_readable:
        warn_user(cache_not_kept(stem.parent, f"could not write the cache {stem}", exc),
                  DataWarning)


def cache_not_kept(folder: Path, what: str, exc: OSError | None = None,
                   decoded: bool = True) -> str:
    """That the cache ``folder`` cannot keep a decode (``what``, and ``exc``: why), and
    the fix: for a refusal, who may lift it; for any other failure (a full disk), the
    other place. ``decoded``: say that the folder is decoded anew on every run."""
    anew = ", so the folder is decoded anew on every run" if decoded else ""
    if exc is not None and not isinstance(exc, PermissionError):
        # "make room" for a full disk or quota alone: CNNLAB_CACHE naming a file (ENOTDIR)
        # or a read-only disk (EROFS) has room, and was told to make it
        full = exc.errno in DISK_FULL
        return f"{what}: {exc}{anew}: " + (
            "make room, or set CNNLAB_CACHE to a folder on another disk" if full else
            "set CNNLAB_CACHE to a folder this user may write in")
    if exc is not None:
        what += f" ({(exc.strerror or str(exc)).lower()})"
    # The nearest folder there: a home this user may not write in refused the cache's
    # own folders, so they are not there to be made writable.
    folder = next(p for p in (folder, *folder.parents) if os.path.lexists(p))
    who, quoted = owner(folder), shell_quote(str(folder))
    if who and _in_home(folder):  # made by `sudo cnnlab ...` in this user's own home
        fix = f'give it back to this user (sudo chown -R "$USER" {quoted}), '
    else:
        fix = (f"ask {who} to let you write in it, " if who else
               f"let this user read and write in it (chmod u+rwx {quoted}), ")
    return f"{what}{anew}: {fix}or set CNNLAB_CACHE to a folder of your own"


def _in_home(folder: Path) -> bool:
    """Below this user's home (not the home itself, which is not cnnlab's to give)."""
    try:
        return folder != Path.home() and folder.is_relative_to(Path.home())
    except (RuntimeError, KeyError):  # no home
        return False


def load_cache(stem: Path, shape: tuple[int, int, int]) -> DecodedTree | None:
    """The cached entry, or None when absent or not what ``stem`` should hold, or
    another user's: anyone who may write in a shared cache could have put any pixels
    and labels there (safetensors and JSON, so reading one never runs code)."""
    try:
        sidecar = json.loads(_read_own(stem.with_suffix(".json")))
        tensors = _load_own_tensors(stem.with_suffix(".safetensors"))
        decoded = DecodedTree(
            tensors["images"].numpy(),
            tensors["labels"].numpy(),
            # Names as text (readable_name): an entry decoded before kept surrogates.
            [readable_name(c) for c in sidecar["classes"]],
            [(readable_name(s["file"]), s["reason"]) for s in sidecar["skipped"]],
            [readable_name(c) for c in sidecar["empty_classes"]],
        )
    except OthersFile as exc:
        who = owner(Path(exc.filename)) or "another user"
        _warn_not_read(stem, f"{who}'s, not this user's, and not read (it could hold "
                             "any images and labels)")
        return None
    except PermissionError as exc:
        why = (exc.strerror or str(exc)).lower()
        if not os.access(stem.parent, os.R_OK | os.X_OK):  # the folder, not an entry
            _warn_unusable(stem, f"the cache folder {stem.parent} is not readable by "
                                 f"this user ({why})")
            return None
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


# Both read through a descriptor whose owner was checked (access.open_own): in a shared
# folder, a check by name and then a read by name could read a file renamed over it.
def _read_own(path: Path) -> str:
    with open(open_own(path), encoding="utf-8") as file:
        return file.read()


def _load_own_tensors(path: Path) -> dict[str, torch.Tensor]:
    if user_id() is None:  # no owners (Windows): nothing to check
        return load_file(path)
    fd = open_own(path)
    try:
        # /dev/fd/N opens that very file (Linux, macOS), mapped as load_file maps any;
        # elsewhere its bytes, which take twice the entry's memory for a moment.
        if os.path.exists(f"/dev/fd/{fd}"):
            return load_file(f"/dev/fd/{fd}")
        with open(os.dup(fd), "rb") as file:
            return load(file.read())
    finally:
        os.close(fd)
