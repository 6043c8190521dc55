"""Which files below a folder are a folder dataset's images, and what a scan passes over
that a user could take for images: cnnlab run folders (their plots are PNGs) and photos
in formats cnnlab cannot decode (HEIC from a phone, camera RAW, SVG)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from cnnlab.data.image_file import PIL_FORMATS


def _extensions_pillow_decodes(names: set[str]) -> frozenset[str]:
    """Those of ``names`` this Pillow opens with one of cnnlab's formats (.avif needs
    Pillow 11.2 or its plugin)."""
    known = Image.registered_extensions()
    return frozenset(n for n in names if known.get(n) in PIL_FORMATS)


# The file names a folder dataset reads (in any case), and ``cnnlab predict`` with a
# folder: ".jfif" and ".jpe" are JPEGs (a browser's "save image" on Windows gives .jfif),
# ".apng" a PNG, ".pbm" and ".pnm" netpbm's other two.
IMAGE_EXTENSIONS = _extensions_pillow_decodes(
    {".png", ".apng", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".gif", ".webp", ".tif",
     ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".avif"})
# Pictures cnnlab does not decode: passed over, and said to be (they were silently).
UNDECODED_EXTENSIONS = frozenset(
    {".heic", ".heif", ".avif", ".jxl", ".svg", ".psd", ".raw", ".dng", ".cr2", ".cr3",
     ".nef", ".arw", ".orf", ".rw2", ".raf"}) - IMAGE_EXTENSIONS


@dataclass
class PassedOver:
    """What a scan left out that is not plainly other files: cnnlab run folders, and
    pictures in formats cnnlab does not decode."""

    runs: list[Path] = field(default_factory=list)
    undecoded: list[Path] = field(default_factory=list)
    # Folders that could not be listed, as os.walk's errors (the folder is the filename):
    # another's private folder, a chmod 700 one, one removed while it was read. Their
    # images were left out without a word, os.walk passing over what it cannot read.
    unlisted: list[OSError] = field(default_factory=list)


ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar")


def no_folder_words(root: Path) -> str:
    """Why ``root`` cannot be a folder dataset: missing, or a file (a downloaded
    archive not unpacked yet, or an image), each said with what to pass instead."""
    missing = f"{root}: no such directory (expected {root}/<class>/<image>)"
    if not root.exists():
        return missing
    if root.name.lower().endswith(ARCHIVE_SUFFIXES):
        return f"{missing}; it is an archive: unpack it, and pass the folder it makes"
    if root.suffix.lower() in IMAGE_EXTENSIONS:
        return (f"{missing}; it is an image file: pass the folder holding one folder of "
                "images per class")
    return f"{missing}; it is a file"


def is_data_folder(path: Path) -> bool:
    # Hidden folders and the __MACOSX folder macOS puts in every zip hold no data.
    return path.is_dir() and not path.name.startswith(".") and path.name != "__MACOSX"


def _hidden(path: Path, base: Path) -> bool:
    # Hidden files and folders (.DS_Store, .ipynb_checkpoints) are never data.
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def is_image_file(path: Path, base: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not _hidden(path, base) \
        and path.is_file()


def holds_an_image(folder: Path) -> bool:
    """Whether an image file lies below ``folder`` (links followed, each real folder
    once, hidden ones left out), looked for only until the first is found."""
    seen = set()
    for here, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(Path(n).suffix.lower() in IMAGE_EXTENSIONS and not n.startswith(".")
               for n in names):
            return True
    return False


# What a cnnlab run's folder holds beside its config.yaml (one is enough: a run being
# written may have only some of them).
_RUN_CONTENTS = ("checkpoints", "metrics.csv", "summary.json", "plots")


def readable_name(name: str) -> str:
    """A file or folder name as text any file takes. A name not in UTF-8 (a Latin-1
    archive's "d\\xf6g") keeps its bytes as \\xNN escapes: Python holds them in
    surrogates, which no file can be written with, and a run on a class folder so named
    ended at its first epoch's records."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_run_folder(path: Path) -> bool:
    """A cnnlab run's folder: its plots are PNGs, which a folder dataset would take for
    images (``cnnlab train`` in the dataset folder writes ``runs/`` there). A run's only
    images are in plots/: a dataset keeping its own config.yaml (and a summary.json, or
    a class named plots/ or checkpoints/) beside class folders of images was taken for a
    run, and `cnnlab predict` on it found no image, a split of it was no split."""
    try:
        return (path / "config.yaml").is_file() and any(
            (path / n).exists() for n in _RUN_CONTENTS) and not any(
            p.name != "plots" and is_data_folder(p) and holds_an_image(p)
            for p in path.iterdir())
    except OSError:  # a folder this user may not search (its scan names it): no run seen
        return False


def _files_under(folder: Path, passed_over: PassedOver) -> list[tuple[Path, str]]:
    """Every file below ``folder`` with its real path, following symlinked folders (a
    class assembled from links to where the images live; Path.rglob does not follow
    them), each real folder once (a link back up the tree would loop). cnnlab run
    folders are passed over, and added to ``passed_over.runs``; folders that cannot be
    listed to ``passed_over.unlisted``."""
    seen, files = set(), []

    runs = passed_over.runs
    for here, dirs, names in os.walk(folder, onerror=passed_over.unlisted.append,
                                     followlinks=True):
        real = os.path.realpath(here)
        if real in seen or is_run_folder(Path(here)):
            if real not in seen:
                runs.append(Path(here))
            dirs[:] = []
            continue
        seen.add(real)
        for name in names:
            path = Path(here) / name  # realpath (an lstat per part) for links alone
            files.append((path, os.path.realpath(path) if path.is_symlink()
                          else os.path.join(real, name)))
    return files


def no_images_words(root: Path, passed_over: PassedOver) -> str:
    """Why a tree held no image to train on, and the fix: the folders this user could not
    read where there are any (the expected layout sent them to make the folders they
    have), else the layout expected. The loader and `bench zoo`'s check both say it."""
    if passed_over.unlisted:
        return (f"could not read {len(passed_over.unlisted)} folder(s): "
                + unlisted_words(root, passed_over.unlisted))
    return expected_layout(root)


def unlisted_words(base: Path, unlisted: list[OSError]) -> str:
    """The folders of ``unlisted`` (os.walk's errors) named below ``base``, each with
    why it could not be listed, and the fix. Every one read "(permission denied)": a
    folder removed while it was read was sent to chmod."""
    from cnnlab.data.access import owner
    from cnnlab.formatting import first_few
    from cnnlab.shell_words import shell_quote

    by_why: dict[str, list[Path]] = {}
    for exc in unlisted:
        by_why.setdefault(_why_unlisted(exc), []).append(Path(exc.filename))
    named = "; ".join(
        first_few([readable_name(str(p.relative_to(base))) if p.is_relative_to(base)
                   else readable_name(str(p)) for p in folders]) + f" ({why})"
        for why, folders in by_why.items())
    if denied := by_why.get(_DENIED):
        who = owner(denied[0])
        return (f"{named}; to use them, let this user read them (chmod -R a+rX "
                f"{shell_quote(str(denied[0]))}{f', as {who}' if who else ''}), or move "
                "them out")
    return f"{named}; run this again once they stay put and can be read"


_DENIED = "permission denied"


def _why_unlisted(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return _DENIED
    if isinstance(exc, FileNotFoundError | NotADirectoryError):  # changed meanwhile
        return "removed or renamed while it was read"
    return (exc.strerror or str(exc)).lower()


def expected_layout(root: Path) -> str:
    """What a folder dataset at ``root`` should hold, for a refusal of one that holds none."""
    exts = " ".join(sorted(IMAGE_EXTENSIONS))
    return f"expected one folder per class holding image files ({exts}), e.g. {root}/cats/001.jpg"


def image_files_under(folder: Path, passed_over: PassedOver | None = None) -> list[Path]:
    """The image files below ``folder`` (searched recursively, links followed), sorted,
    each real file once: a link beside the image it names had been a second image, which
    a split could hold out for testing while training on the first. The image's own path
    is kept over a link's; hidden ones are left out, as a folder dataset leaves them, and
    so are cnnlab run folders' plots; those, undecoded pictures and folders this user
    may not list go to ``passed_over``."""
    folder = Path(folder)
    passed_over = PassedOver() if passed_over is None else passed_over
    chosen: dict[str, Path] = {}
    for path, real in _files_under(folder, passed_over):
        if not is_image_file(path, folder):
            if path.suffix.lower() in UNDECODED_EXTENSIONS and not _hidden(path, folder):
                passed_over.undecoded.append(path)
            continue
        kept = chosen.get(real)
        if kept is None or (kept.is_symlink(), kept) > (path.is_symlink(), path):
            chosen[real] = path
    return sorted(chosen.values())
