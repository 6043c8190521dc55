"""Fashion-MNIST: find it, download it, verify it, load it.

Where the four files are looked for, first match wins:

1. the ``root`` argument (``--root`` / ``--data-root`` on the command line): when given, the
   only place looked in (and downloaded into): a mistyped folder is an error, not a switch;
2. ``$CNNLAB_DATA``;
3. the cache, ``~/.cache/cnnlab/fashion-mnist`` (see :func:`cache_root`);
4. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).

A directory counts when it holds the four files, gzipped or not (also inside a
torchvision-style ``FashionMNIST/raw`` subfolder). When none does, :func:`load` downloads
them from the official mirrors, checking each against its published md5 before it is
given its final name, so a failed or killed download never leaves a file that looks valid.

Checksums come in two sets. The archive md5s are those the dataset's authors publish for
the ``.gz`` files; they identify a download. Copies compressed again (Debian's drops the
file name from the gzip header) differ there but not in content, so :func:`verify` checks
the md5 of the decompressed bytes, published alongside by several mirrors and equal for
every faithful copy.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from cnnlab.atomic import atomic_write_bytes, write_problem
from cnnlab.data.access import file_state, owner
from cnnlab.data.dataset import (
    CacheLocationError,
    DataError,
    DatasetSplits,
    DataWarning,
    ImageData,
    cache_root,
)
from cnnlab.data.fashion_files import FILES, find_files, root_option, say_passed_over, why_not
from cnnlab.data.idx import IdxFormatError, read_idx_pair
from cnnlab.notices import warn_user
from cnnlab.progress import ProgressBar

NAME = "fashion-mnist"
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
IMAGE_SHAPE = (28, 28)
# md5 of the published .gz archives (zalandoresearch/fashion-mnist README).
ARCHIVE_MD5 = {
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
# md5 of the decompressed IDX files: the same for every faithful copy, however compressed.
CONTENT_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
MIRRORS = (  # https first: the md5 catches a changed file, TLS a meddling path sooner
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
# No published archive is larger (train-images: 26.4 MB): a download past it is stopped,
# not written out in full before its md5 fails (an endless one would fill the disk).
MOST_ARCHIVE_BYTES = 32 << 20
ENV_VAR = "CNNLAB_DATA"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_S = 30.0

HOW_TO_GET = (
    "Get it with one of:\n"
    "  cnnlab data download fashion-mnist        (about 29 MiB, md5-checked, into the cache)\n"
    "  sudo apt-get install dataset-fashion-mnist (Debian and derivatives)\n"
    f"  export {ENV_VAR}=/directory/holding/the/four/files"
)
LEAVE_OUT_ROOT = f"leave out --data-root (--root) to use ${ENV_VAR}, the cache or {SYSTEM_DIR}"


def how_to_get(root: str | Path | None = None, downloaded: bool = False) -> str:
    """What to do when the data is missing; ``downloaded``: a download just failed, so only
    ways that need no mirror. With a given ``root``, ways that fill that folder (alone)."""
    if root is not None:
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():  # nothing can be put into a file
            return "Give a folder holding the four .gz files, not a file, or " + LEAVE_OUT_ROOT
        fetch = "" if downloaded else (  # just failed: not offered again
            f"  cnnlab data download {root_option(root)}  (about 29 MiB, md5-checked)\n  or ")
        return (f"Put the four files there:\n{fetch or '  '}copy the four .gz files into it "
                f"from a machine that has them\nor {LEAVE_OUT_ROOT}")
    if not downloaded:
        return HOW_TO_GET
    for place in candidates():  # a copy every command reads, not the cache being filled
        if place.origin != "cnnlab cache" and find_files(place.path) is not None:
            where = (f"Debian's dataset-fashion-mnist is installed in {SYSTEM_DIR}"
                     if place.path == SYSTEM_DIR else f"{place.origin} ({place.path}) holds "
                     "the four files")
            return (f"No download is needed here: {where}, and every command reads it as "
                    "it is (`cnnlab data info fashion-mnist` shows where the data comes from)")
    return ("Without the mirrors, get it with one of:\n"
            "  sudo apt-get install dataset-fashion-mnist (Debian and derivatives)\n"
            "  copy the four .gz files from a machine that has them, then\n"
            f"  export {ENV_VAR}=/directory/holding/the/four/files")


class DatasetNotFoundError(DataError, FileNotFoundError):
    """No location holds the dataset (and it was not, or could not be, downloaded)."""


class DownloadError(DataError, OSError):
    """Every mirror failed for some file."""


class ChecksumError(DataError, ValueError):
    """A file's md5 differs from the published one."""


@dataclass(frozen=True)
class Location:
    """A place the dataset may be, and why it is looked at."""

    path: Path
    origin: str  # "given path", "$CNNLAB_DATA", "cnnlab cache", "system copy", ...


@dataclass(frozen=True)
class FileCheck:
    """The verdict of :func:`verify` on one file."""

    name: str
    path: Path | None
    ok: bool
    detail: str


def default_cache_dir() -> Path:
    return cache_root() / NAME


def _cache_text() -> str:
    try:
        return str(default_cache_dir())
    except CacheLocationError:
        return "the cache (none here: no home folder; set CNNLAB_CACHE)"


def candidates(root: str | Path | None = None) -> list[Location]:
    """The places searched, in order; ``$CNNLAB_DATA`` is skipped when unset. A given
    ``root`` is the only one: the user named the folder they mean."""
    if root is not None:
        return [Location(Path(root).expanduser(), "given path")]
    places = []
    if os.environ.get(ENV_VAR):
        places.append(Location(Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"))
    try:
        places.append(Location(default_cache_dir(), "cnnlab cache"))
    except CacheLocationError:  # no home: the cache is skipped; a download says why
        pass
    places.append(Location(SYSTEM_DIR, "system copy"))
    return places


def locate(root: str | Path | None = None) -> Location | None:
    """The first location holding all four files, or None; a $CNNLAB_DATA passed over is said."""
    places = candidates(root)
    found = next((p for p in places if find_files(p.path) is not None), None)
    say_passed_over(places, found)
    return found


def not_found_message(root: str | Path | None = None, advice: bool = True) -> str:
    lines = ["Fashion-MNIST not found. Looked in:"]
    if not os.environ.get(ENV_VAR) and root is None:
        lines.append(f"  ${ENV_VAR}: not set")
    lines += [f"  {loc.path} ({loc.origin}): {why_not(loc.path)}" for loc in candidates(root)]
    if root is not None:
        lines.append("  (only there: it was given; without it cnnlab looks in "
                     f"${ENV_VAR}, {_cache_text()} and {SYSTEM_DIR})")
    return "\n".join(lines) + ("\n" + how_to_get(root) if advice else "")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# --------------------------------------------------------------------------- download


def _open_url(url: str, timeout: float):
    """The HTTP response for ``url``; tests replace this to serve bytes from memory."""
    request = urllib.request.Request(url, headers={"User-Agent": "cnnlab"})
    return urllib.request.urlopen(request, timeout=timeout)


def _fetch(url: str, dest: Path, md5: str, progress: Progress) -> None:
    """Stream ``url`` into ``dest`` atomically (``cnnlab.atomic``: temp file, fsync,
    rename), checking its md5 before the rename: a bad or cut-off download leaves
    neither ``dest`` nor a temp file."""

    def write(tmp: str) -> None:
        digest = hashlib.md5(usedforsecurity=False)
        with open(tmp, "wb") as out, _open_url(url, DOWNLOAD_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            task = progress.add_task(dest.name, total=int(length) if str(length).isdigit()
                                     else None)  # a header that is no number: unknown
            written = 0
            while chunk := response.read(1 << 16):
                written += len(chunk)
                if written > MOST_ARCHIVE_BYTES:
                    raise ChecksumError(f"more than {MOST_ARCHIVE_BYTES >> 20} MiB, larger than "
                                        "any published file: stopped")
                out.write(chunk)
                digest.update(chunk)
                progress.advance(task, len(chunk))
        if digest.hexdigest() != md5:
            # No URL here: the caller lists each mirror's failure after its URL.
            raise ChecksumError(f"md5 {digest.hexdigest()} does not match the published {md5}")

    atomic_write_bytes(dest, write)  # also removes the temp file on KeyboardInterrupt


def _archive_is_valid(path: Path, name: str) -> bool:
    """The published archive, or another gzip of the same content (Debian's package
    recompresses them; `verify` accepts those, so a download keeps them too)."""
    return file_state(path) == "file" and _check_file(name, path).ok


def download(
    root: str | Path | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    mirrors: tuple[str, ...] | None = None,
) -> Path:
    """Download the four archives into ``root`` (default: the cache) and return it.

    Files already there with the right md5 are kept unless ``force``. Each file is
    tried on every mirror in turn (default :data:`MIRRORS`).

    Raises:
        DownloadError: some file could not be fetched intact from any mirror; the
            message lists what each mirror answered.
    """
    target = Path(root).expanduser() if root is not None else default_cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {target}: {exc}; {_elsewhere(root)}") from exc
    needed = [name for name in FILES if force or not _archive_is_valid(
        target / f"{name}.gz", name)]
    problem = write_problem(target) if needed else None
    if problem:  # each mirror's line said "Permission denied", as if the mirror refused
        who = f"; it belongs to {owner(target)}" if owner(target) else ""
        raise DownloadError(f"cannot write in {target} ({problem}{who}); {_elsewhere(root)}")
    columns = (
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with ProgressBar(*columns, console=Console(stderr=True), disable=not progress) as bar:
        for name in FILES:
            dest = target / f"{name}.gz"
            if name in needed:
                try:
                    _fetch_from_mirrors(name, dest, mirrors or MIRRORS, bar)
                except DownloadError as exc:
                    raise DownloadError(
                        f"{exc}\n{how_to_get(root, downloaded=True)}") from None
            _move_aside_damaged_raw_copy(target / name)  # once a good .gz is there
    return target


def _elsewhere(root: str | Path | None) -> str:
    """Where else a download can go, for a folder this user cannot write in."""
    if root is not None:
        return "choose a folder of your own with --root (--data-root), or " + LEAVE_OUT_ROOT
    return ("set CNNLAB_CACHE to a folder this user can write (it moves every cache of "
            "cnnlab), or download into one with --root (--data-root)")


def _move_aside_damaged_raw_copy(raw: Path) -> None:
    """An uncompressed copy is read before the .gz beside it (it loads faster), so a
    damaged one would make a good download fail to load. It is renamed, not deleted
    (it may be someone's own variant), and only once the good .gz is in place."""
    if file_state(raw) == "file" and _md5(raw.read_bytes()) != CONTENT_MD5[raw.name]:
        aside = raw.with_name(f"{raw.name}.damaged")
        os.replace(raw, aside)
        warn_user(f"moved {raw} to {aside.name}: an uncompressed copy that is not "
                  "Fashion-MNIST's (damaged?), read before the good .gz beside it",
                  DataWarning)


def _fetch_from_mirrors(name: str, dest: Path, mirrors: tuple[str, ...], bar: Progress) -> None:
    failures = []
    for mirror in mirrors:
        url = mirror + dest.name
        try:
            _fetch(url, dest, ARCHIVE_MD5[name], bar)
            return
        except (OSError, http.client.HTTPException, ChecksumError) as exc:
            # URLError, HTTPError and timeouts are OSErrors; IncompleteRead is not.
            failures.append(f"  {url}: {exc}")
    hint = ""
    if any("CERTIFICATE_VERIFY_FAILED" in f for f in failures) and sys.platform == "darwin":
        # python.org's macOS Python comes without certificates until this is run.
        hint = ("\nThis Python has no certificates to check the mirrors with: run "
                "'Install Certificates.command' in its folder under /Applications, "
                "then try again")
    raise DownloadError(
        f"could not download {dest.name} intact from any mirror:\n" + "\n".join(failures)
        + hint)


# --------------------------------------------------------------------------- verify


def _check_file(name: str, path: Path) -> FileCheck:
    data = path.read_bytes()
    archive_ok = path.suffix == ".gz" and _md5(data) == ARCHIVE_MD5[name]
    if path.suffix == ".gz" and data[:2] != b"\x1f\x8b":
        # The loader decompresses every .gz (a browser may have saved it decompressed).
        return FileCheck(name, path, False, "named .gz but not gzip data; rename it "
                                            f"to {path.stem} or download it again")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            return FileCheck(name, path, False, f"corrupt gzip stream: {exc}")
    got = _md5(data)
    if got != CONTENT_MD5[name]:
        return FileCheck(name, path, False, f"md5 {got}, published {CONTENT_MD5[name]}")
    kind = "the published archive" if archive_ok else "same content as published"
    return FileCheck(name, path, True, f"md5 ok ({kind})")


def verify(root: str | Path | None = None) -> tuple[Location, list[FileCheck]]:
    """Check the md5 of the decompressed content of each file at the located place.

    Raises:
        DatasetNotFoundError: no location holds the files.
    """
    location = locate(root)
    if location is None:
        raise DatasetNotFoundError(not_found_message(root))
    files = find_files(location.path)
    assert files is not None  # locate() just found them
    return location, [_check_file(name, files[name]) for name in FILES]


# --------------------------------------------------------------------------- load


def _load_split(files: dict[str, Path], prefix: str) -> ImageData:
    images_path = files[f"{prefix}-images-idx3-ubyte"]
    images, labels = read_idx_pair(
        images_path, files[f"{prefix}-labels-idx1-ubyte"], num_classes=len(CLASSES)
    )
    if images.shape[1:] != IMAGE_SHAPE:
        raise IdxFormatError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
            f"Fashion-MNIST's are {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}"
        )
    return ImageData(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels).long())


def load(
    root: str | os.PathLike[str] | None = None, *, download: bool = True, progress: bool = True,
    test_only: bool = False,
) -> DatasetSplits:
    """Fashion-MNIST as uint8 (N, 1, 28, 28) images and int64 labels.

    Args:
        root: the only directory to look in when given (downloaded into if it exists
            but lacks the files); otherwise the usual places, in order.
        download: fetch the files when no location holds them.
        progress: show a progress bar while downloading.
        test_only: read the test split alone (the train split comes back empty), for
            evaluation: a damaged training file then does not stop it.

    Raises:
        DatasetNotFoundError: not found, and not downloaded (disabled or failed).
        IdxFormatError: a file is damaged; the message names it.
    """
    location = locate(root)
    if location is None:
        # A given folder that does not exist (or is a file) is a typo more often than a
        # wish to download there: named, not created (`cnnlab data download --root`
        # creates it).
        missing_root = root is not None and not Path(root).expanduser().is_dir()
        # Evaluation told where the data is now (eval --data-root) is told it is not
        # there, not sent to fetch all four files (the training split first) into it.
        if not download or missing_root or (test_only and root is not None):
            raise DatasetNotFoundError(not_found_message(root))
        searched = not_found_message(root, advice=False)  # before the download writes
        try:
            target = _download_into(root, progress)
        except DownloadError as exc:
            # The download's error ends with the ways that need no download.
            raise DatasetNotFoundError(f"{searched}\n\n{exc}") from exc
        location = Location(target, "downloaded from the official mirrors")
    files = find_files(location.path)
    assert files is not None
    try:
        test = _load_split(files, "t10k")
        train = _empty_split() if test_only else _load_split(files, "train")
    except IdxFormatError as exc:
        raise IdxFormatError(f"{exc}\n{_how_to_mend(location)}") from None
    return DatasetSplits(name=NAME, train=train, test=test, classes=list(CLASSES),
                         source=f"{location.path} ({location.origin})")


def _empty_split() -> ImageData:
    return ImageData(torch.empty((0, 1, *IMAGE_SHAPE), dtype=torch.uint8),
                     torch.empty(0, dtype=torch.long))


def _how_to_mend(location: Location) -> str:
    """What to do about a damaged file at ``location``."""
    if location.path == SYSTEM_DIR:
        return ("The system copy is damaged: reinstall it (sudo apt-get install --reinstall "
                "dataset-fashion-mnist), or `cnnlab data download` a copy into the cache")
    return (f"`cnnlab data verify {root_option(location.path)}` checks all four files; "
            f"`cnnlab data download --force {root_option(location.path)}` fetches them again "
            "(an uncompressed copy beside a .gz is read first: a damaged one is moved "
            "aside once its good .gz is there)")


def _download_into(root: str | Path | None, progress: bool) -> Path:
    # ``load`` has a parameter called ``download``; this keeps the function reachable.
    return download(root, progress=progress)
