"""A user's own images, one folder per class: ``PATH/<class>/<image>``.

Every image is decoded once (``cnnlab.data.image_file``, as ``cnnlab predict`` decodes files:
upright, scaled to cover the requested size, then centre-cropped) and stored as one uint8 tensor
in the cache: ``<cache>/folders/<key>.safetensors`` plus a JSON sidecar with the class names and
what was skipped. The key hashes the absolute path, the size, the channels and every file's name,
size, mtime and ctime, so adding, removing or editing an image rebuilds the cache, and nothing
else does. The cache holds only tensors and JSON: loading it never runs code. Entries of deleted
folders, and those a new decode replaced, are removed when an entry is written
(``folder_cache``); ``cnnlab data cache`` lists them, ``--clear`` empties it. In a cache users
share, an entry is read, replaced and removed only by the user who wrote it.

Unreadable images and class folders without images are skipped with a :class:`DataWarning`
that names a few of them; a tree without any image is an error, and one with a single
class is warned about (no classifier trains on it). The train/validation split is drawn
per class with a seeded generator, so each class keeps its share in both parts and the
same seed gives the same split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from cnnlab.data.dataset import (
    CacheLocationError,
    DataError,
    DatasetSplits,
    DataWarning,
    ImageData,
    rows_reordered,
)
from cnnlab.data.folder_cache import (
    CACHE_FORMAT,
    DecodedTree,
    cache_key,
    decoding_lock,
    entries_folder,
    load_cache,
    save_cache,
    warn_not_written,
)
from cnnlab.data.folder_files import (
    PassedOver,
    holds_an_image,
    image_files_under,
    is_data_folder,
    is_image_file,
    is_run_folder,
    no_folder_words,
    no_images_words,
    readable_name,
    unlisted_words,
)
from cnnlab.data.folder_names import names_alike_problem
from cnnlab.data.image_file import ImageFileError, decode_image
from cnnlab.data.memory import available_memory, too_large_to_decode
from cnnlab.formatting import first_few
from cnnlab.notices import warn_user
from cnnlab.progress import ProgressBar

DECODE_SAID_FROM = 1000  # images: seconds to decode (1.4-2 s per 1,000 small PNGs)


class FolderDatasetError(DataError, ValueError):
    """The folder cannot give a dataset (missing, no images, bad options)."""


def _as_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise FolderDatasetError("image_size must be a positive int or (height, width), "
                                 f"got {image_size!r}")
    return size  # type: ignore[return-value]


def _scan(root: Path) -> tuple[dict[str, list[Path]], list[Path], PassedOver]:
    """Image files per class folder (sorted, searched recursively), loose ones in
    ``root``, and what was passed over. cnnlab run folders below it are left out and
    warned of; a folder of runs alone (``runs/``) is no class."""
    per_class, passed_over = {}, PassedOver()
    folders = sorted(p for p in root.iterdir() if is_data_folder(p))  # labels: this order
    if problem := names_alike_problem(root, folders, classes=True):
        raise FolderDatasetError(problem)
    for folder in folders:
        runs_before, name = len(passed_over.runs), readable_name(folder.name)
        per_class[name] = image_files_under(folder, passed_over)
        if len(passed_over.runs) > runs_before and not per_class[name]:
            del per_class[name]
    _report_runs(root, passed_over.runs)
    if passed_over.undecoded:
        kinds = sorted({p.suffix.lower() for p in passed_over.undecoded})
        warn_user(f"{root}: passed over {len(passed_over.undecoded)} picture(s) in a format "
                  f"cnnlab does not decode ({' '.join(kinds)}): "
                  + first_few([str(p.relative_to(root)) for p in passed_over.undecoded])
                  + "; convert them to PNG or JPEG to train on them", DataWarning)
    if passed_over.unlisted and any(per_class.values()):  # with none, the error says it
        warn_user(f"{root}: could not read {len(passed_over.unlisted)} folder(s), so the "
                  "images in them are left out: " + unlisted_words(root, passed_over.unlisted),
                  DataWarning)
    loose = sorted(p for p in root.iterdir() if is_image_file(p, root))
    return per_class, loose, passed_over


def _holds_runs_alone(folder: Path) -> bool:
    """A run's folder, or one of runs alone (``runs/``): output, neither class nor split."""
    try:
        inside = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError:
        return False
    return is_run_folder(folder) or bool(inside) and all(
        p.is_dir() and is_run_folder(p) for p in inside)


def _report_runs(root: Path, runs: list[Path]) -> None:
    if runs:
        names = first_few([str(p.relative_to(root)) for p in runs])
        warn_user(f"{root}: left out {len(runs)} cnnlab run folder(s) inside it ({names}): "
                  "their plots are not data. Keep runs outside the dataset folder: "
                  f"--out-dir {root.parent / 'runs'} (out_dir=...), and move these out",
                  DataWarning)


def _decode_images(root: Path, per_class: dict[str, list[Path]], size: tuple[int, int],
                   channels: int, progress: bool) -> DecodedTree:
    """Every file of ``per_class`` decoded at ``size`` (no cache: _cached_or_decoded)."""
    total = sum(len(files) for files in per_class.values())
    try:
        images = np.empty((total, channels, *size), np.uint8)
    except (MemoryError, ValueError):  # numpy's "array is too big", as a traceback
        from cnnlab.formatting import format_bytes

        need = format_bytes(float(total) * channels * size[0] * size[1])
        raise FolderDatasetError(
            f"{root}: {total} image(s) decoded at {size[0]}x{size[1]} would take {need} of "
            "memory, more than this machine can hold: give a smaller image size "
            "(--image-size; to train, --resize)") from None
    class_of = np.empty(total, np.int64)
    names, skipped, empty, n = [], [], [], 0
    console = Console(stderr=True)  # no bar into a log: ProgressBar asks shows_live
    # ... where a long decode says one line instead, or minutes passed without a word.
    said = (f"decoding {total:,} images of {root} at {size[0]}x{size[1]}"
            if total >= DECODE_SAID_FROM else None)
    with ProgressBar(console=console, disable=not progress, transient=True,
                     in_a_log=said) as bar:
        task = bar.add_task(f"decoding {root.name}", total=total)
        for class_name, files in per_class.items():
            start = n
            for path in files:
                try:
                    images[n] = decode_image(path, size, channels)
                except (ImageFileError, OSError) as exc:  # OSError: gone since the scan
                    reason = exc.reason if isinstance(exc, ImageFileError) else str(exc)
                    skipped.append((readable_name(str(path.relative_to(root))), reason))
                else:
                    class_of[n] = len(names)
                    n += 1
                bar.advance(task)
            if n > start:
                names.append(class_name)
            else:
                empty.append(class_name)
    return DecodedTree(images[:n], class_of[:n], names, skipped, empty)


def _report(root: Path, decoded: DecodedTree, loose: list[Path]) -> None:
    if decoded.skipped:
        warn_user(f"{root}: skipped {len(decoded.skipped)} unreadable image(s): "
                  + first_few([f"{f} ({r})" for f, r in decoded.skipped]), DataWarning)
    if decoded.empty_classes:
        warn_user(f"{root}: left out {len(decoded.empty_classes)} class folder(s) "
                  "without readable images: " + first_few(decoded.empty_classes), DataWarning)
    _report_loose(root, loose, f"{root}/<class>/<image>")


def _report_loose(root: Path, loose: list[Path], expected: str) -> None:
    if loose:
        warn_user(
            f"{root}: ignored {len(loose)} image(s) outside any class folder "
            f"(expected {expected}): " + first_few([p.name for p in loose]),
            DataWarning,
        )


def split_indices(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, per-class (stratified) train/validation index split.

    Each class gives ``round(count * val_fraction)`` samples to validation, but at
    least one when it has two or more samples and the fraction is positive, and
    never all of them. Both index arrays come in a seeded random order, as
    Fashion-MNIST's images do, so a prefix (``train_subset``, ``eval_subset``) holds
    every class in about its share, not the first classes alone.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise FolderDatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train, val = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = round(len(members) * val_fraction)
        if val_fraction > 0 and len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        val.append(members[:n_val])
        train.append(members[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


# Top-level folder names that mean "a split", not "a class" (compared in lower case).
TRAIN_NAMES = ("train", "training")
HELD_OUT_NAMES = ("val", "valid", "validation", "test", "testing")  # in order of preference


def _presplit(root: Path) -> tuple[Path, Path] | None:
    """(train folder, held-out folder) when ``root`` holds splits, not classes: its folders
    holding images are all split names, one a training one and one a held-out one."""
    found = [p for p in root.iterdir() if is_data_folder(p) and not _holds_runs_alone(p)]
    splits = [p for p in found if p.name.lower() in TRAIN_NAMES + HELD_OUT_NAMES]
    if problem := names_alike_problem(root, splits):  # train/ and Train/: one was unused
        raise FolderDatasetError(problem)
    # Beside split folders, one without images (an empty runs/, notes) is no class: it
    # made train/ and val/ two classes, and a model learnt which split an image was in.
    folders = {p.name.lower(): p for p in found if p in splits or not splits or holds_an_image(p)}
    if not folders or not set(folders) <= set(TRAIN_NAMES + HELD_OUT_NAMES):
        return None
    train = next((folders[n] for n in TRAIN_NAMES if n in folders), None)
    held_out = next((folders[n] for n in HELD_OUT_NAMES if n in folders), None)
    if train is None or held_out is None:
        only = ", ".join(sorted(p.name for p in folders.values()))
        raise FolderDatasetError(
            f"{root} holds only the split folder(s) {only}, not one folder per class: give "
            f"the split as the dataset (folder:{next(iter(folders.values()))}), or add a "
            f"{'train' if train is None else 'val or test'} folder beside it")
    unused = sorted(f"{p.name}/" for p in folders.values() if p not in (train, held_out))
    if unused:  # val/ and test/ both: one is used, and the user should know which
        warn_user(
            f"{root} is split into {train.name}/ and {held_out.name}/ (the held-out split "
            f"runs are scored on); {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} "
            f"not used. To score on {unused[0]} instead, move {held_out.name}/ out of {root}",
            DataWarning)
    return train, held_out


def _warn_of_a_single_class(root: Path, classes: list[str]) -> None:
    """One class folder is no classification task (``train`` refuses it, with these
    words, and keeps this warning back); often the folder given is one level above the
    classes (``photos/images/<class>``)."""
    if len(classes) == 1:
        warn_user(single_class_advice(root, classes[0]), DataWarning)


SINGLE_CLASS = "has a single class folder"  # how train tells this warning from others


def single_class_advice(root: Path, only_class: str) -> str:
    """What is wrong with a tree of one class folder, and the likely fix."""
    only = root / only_class
    try:
        nested = sorted(p.name for p in only.iterdir() if is_data_folder(p))
    except OSError:
        nested = []
    fix = (f"its subfolders ({first_few(nested)}) look like the classes: give folder:{only}"
           if len(nested) >= 2 else "add a folder of images for each other class beside it")
    return (f"{root} {SINGLE_CLASS}, {only_class}/ (its images, subfolders included, are "
            f"one class), and a classifier needs at least two: {fix}")


def _scan_tree(root: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """The image files of each class under ``root`` and the loose ones beside them, or
    FolderDatasetError where there is none."""
    per_class, loose, passed_over = _scan(root)
    if not any(per_class.values()):
        found = (f"{len(loose)} image(s) ({first_few([p.name for p in loose])}) lie in it, "
                 "outside any class folder" if loose else "no images found")
        raise FolderDatasetError(f"{root}: {found}; {no_images_words(root, passed_over)}")
    return per_class, loose


def _check_fits_in_memory(root: Path, count: int, size: tuple[int, int],
                          channels: int) -> None:
    """Refuse, before the decode, ``count`` images (both splits) the free memory cannot
    hold: memory is promised lazily, so the array was filled for minutes, then killed."""
    problem = too_large_to_decode(count, size, channels, available_memory("cpu"))
    if problem:
        raise FolderDatasetError(f"{root}: {problem}")


def _cached_or_decoded(root: Path, scanned: tuple[dict[str, list[Path]], list[Path]],
                       size: tuple[int, int], channels: int, progress: bool,
                       use_cache: bool) -> tuple[DecodedTree, str]:
    """Every image under ``root/<class>/`` (``scanned``, by :func:`_scan_tree`), decoded (or
    read from the cache), with what was skipped reported; and where it came from, in words."""
    per_class, loose = scanned
    files = [p for fs in per_class.values() for p in fs]
    if use_cache:
        try:
            stem = entries_folder() / cache_key(root, size, channels, files)
        except CacheLocationError as exc:  # no home, no $CNNLAB_CACHE: decoded each time
            warn_user(f"{root}: decoded without its cache: {exc}", DataWarning)
            use_cache = False
    decoded = load_cache(stem, (channels, *size)) if use_cache else None
    from_cache, waited = decoded is not None, False
    if decoded is None and use_cache:
        with decoding_lock(stem) as waited:  # one process decodes, the others read it
            decoded = load_cache(stem, (channels, *size))  # written since the first look?
            from_cache = decoded is not None
            if decoded is None:
                decoded = _decode_and_cache(root, per_class, size, channels, progress, stem)
    elif decoded is None:
        decoded = _decode_images(root, per_class, size, channels, progress)
    _report(root, decoded, loose)
    if not len(decoded.labels):
        raise FolderDatasetError(f"{root}: none of the {len(files)} image files could be decoded")
    count = len(decoded.labels)
    how = f"decoded cache {stem}.safetensors" if from_cache else f"decoded {count} images"
    return decoded, how + (" (written by another process meanwhile)" if from_cache and waited
                           else "")


def _decode_and_cache(root: Path, per_class: dict[str, list[Path]], size: tuple[int, int],
                      channels: int, progress: bool, stem: Path) -> DecodedTree:
    decoded = _decode_images(root, per_class, size, channels, progress)
    if len(decoded.labels):
        try:  # the device tells a folder deleted from one not mounted now (folder_cache)
            meta = {"format": CACHE_FORMAT, "path": str(root), "size": size,
                    "channels": channels, "device": root.stat().st_dev}
            save_cache(stem, decoded, meta)
        except OSError as exc:  # a read-only or full cache only costs speed: said how
            warn_not_written(stem, exc)
    return decoded


def folder_root(path: str | Path) -> Path:
    """``path`` made absolute, or FolderDatasetError where it is no directory: checked
    before any work that would decode it (the zoo, which decodes it per model)."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise FolderDatasetError(no_folder_words(root))
    return root


def load_folder(
    path: str | Path,
    *,
    image_size: int | Sequence[int] = 64,
    channels: int = 3,
    val_fraction: float | None = None,
    seed: int = 0,
    progress: bool = True,
    use_cache: bool = True,
) -> DatasetSplits:
    """Load ``path/<class>/<image>`` as uint8 (N, C, H, W) tensors, split train/validation.

    A tree already split, ``path/train/<class>/<image>`` beside ``path/val/...`` (or
    ``valid``, ``validation``, ``test``, ``testing``; ``training`` for train), is used as
    split: the train folder trains, the held-out one (val first, if both it and test are
    there) is the ``test`` split, ``val_fraction`` is not used, and the classes are the
    train folder's (a held-out class missing from it is an error).

    Args:
        path: the root of the class-per-folder tree.
        image_size: output size, an int for square images or (height, width).
        channels: 3 for RGB, 1 for greyscale.
        val_fraction: share of each class held out as the ``test`` split (default 0.2);
            a tree already split has its own, and giving one there is warned about.
        seed: seeds the split and the order of both splits' images.
        progress: show a progress bar while decoding.
        use_cache: read and write the decoded cache under ``$CNNLAB_CACHE/folders``.

    Raises:
        FolderDatasetError: path missing, no images at all, or invalid options.
    """
    size = _as_size(image_size)
    if channels not in (1, 3):
        raise FolderDatasetError(f"channels must be 1 (greyscale) or 3 (RGB), got {channels!r}")
    root = folder_root(path)
    presplit = _presplit(root)
    if presplit is not None:
        if val_fraction is not None:
            warn_user(f"{root} is already split into {presplit[0].name}/ and "
                      f"{presplit[1].name}/: val_fraction {val_fraction} is not used",
                      DataWarning)
        return _load_presplit(root, *presplit, size, channels, seed, progress, use_cache)
    scanned = _scan_tree(root)
    _check_fits_in_memory(root, sum(map(len, scanned[0].values())), size, channels)
    decoded, how = _cached_or_decoded(root, scanned, size, channels, progress, use_cache)
    _warn_of_a_single_class(root, decoded.classes)
    train_idx, val_idx = split_indices(decoded.labels, 0.2 if val_fraction is None
                                       else val_fraction, seed)
    # Both splits are views of one tensor, the training images first: no second copy.
    order, cut = np.concatenate([train_idx, val_idx]), len(train_idx)
    images = rows_reordered(decoded.images, order)
    labels = torch.from_numpy(decoded.labels[order])
    return DatasetSplits(
        name=f"folder:{root}",
        train=ImageData(images[:cut], labels[:cut]),
        test=ImageData(images[cut:], labels[cut:]),
        classes=decoded.classes,
        source=f"{root} ({how})",
    )


def _load_presplit(root: Path, train_dir: Path, held_dir: Path, size: tuple[int, int],
                   channels: int, seed: int, progress: bool, use_cache: bool) -> DatasetSplits:
    _report_loose(root, sorted(p for p in root.iterdir() if is_image_file(p, root)),
                  f"{train_dir}/<class>/<image>")
    outputs = sorted(p for p in root.iterdir() if is_data_folder(p) and _holds_runs_alone(p))
    _report_runs(root, [run for p in outputs
                        for run in ([p] if is_run_folder(p) else sorted(p.iterdir()))])
    scanned = _scan_tree(train_dir), _scan_tree(held_dir)
    _check_fits_in_memory(root, sum(len(f) for s in scanned for f in s[0].values()), size, channels)
    train, train_how = _cached_or_decoded(train_dir, scanned[0], size, channels, progress,
                                          use_cache)
    _warn_of_a_single_class(train_dir, train.classes)
    held, held_how = _cached_or_decoded(held_dir, scanned[1], size, channels, progress, use_cache)
    unknown = [c for c in held.classes if c not in train.classes]
    if unknown:
        unreadable = [c for c in unknown if (train_dir / c).is_dir()]  # left out as empty
        lacks = "lacks" + (f" or holds no readable images of ({', '.join(unreadable)})"
                           if unreadable else "")
        raise FolderDatasetError(
            f"{held_dir} has class folder(s) that {train_dir} {lacks}: {', '.join(unknown)}; "
            "a model cannot be scored on classes it never trained on. Add training images "
            f"of them ({train_dir}/{unknown[0]}/), or move {held_dir}/{unknown[0]}/ out of "
            f"{held_dir}")
    untested = [c for c in train.classes if c not in held.classes]
    if untested:  # trained, never scored: its accuracy in the report is n/a
        warn_user(f"{held_dir} has no images of {first_few(untested)}, which {train_dir} trains "
                  "on: the test accuracy leaves them out, and their per-class accuracy is "
                  "n/a", DataWarning)
    # The held-out labels as indices into the training classes.
    to_train = np.array([train.classes.index(c) for c in held.classes], np.int64)
    rng = np.random.default_rng(seed)  # shuffled as a split's images are (split_indices)
    order = [rng.permutation(len(d.labels)) for d in (train, held)]
    return DatasetSplits(
        name=f"folder:{root}",
        train=ImageData(rows_reordered(train.images, order[0]),
                        torch.from_numpy(train.labels[order[0]])),
        test=ImageData(rows_reordered(held.images, order[1]),
                       torch.from_numpy(to_train[held.labels][order[1]])),
        classes=train.classes,
        source=f"{root}: train from {train_dir.name}/ ({train_how}), test from "
               f"{held_dir.name}/ ({held_how})",
    )
