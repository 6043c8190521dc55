"""Datasets as uint8 tensors: Fashion-MNIST and a user's class-per-folder images::

    from cnnlab.data import load_dataset
    data = load_dataset("fashion-mnist")                      # found, or downloaded
    data = load_dataset("folder:~/photos", image_size=96, channels=3, seed=1)
    data.train.images   # uint8 (N, C, H, W); data.train.labels: int64 (N,)

Where each part lives:

- the sources: ``fashion_mnist`` (found, downloaded, verified; its four files:
  ``fashion_files``, read by ``idx``), ``folder`` (a user's images, one folder per class;
  which files count: ``folder_files``; names macOS or Windows match otherwise:
  ``folder_names``; decoded once and kept: ``folder_cache``, each entry's lock:
  ``cache_lock``),
  ``synthetic`` (tests and smoke runs);
- what they share: ``dataset`` (ImageData, DatasetSplits, DataError, the cache folder),
  ``image_file`` (one image file as pixels, for training and prediction alike),
  ``access`` (may this user read it, write there) and ``memory`` (does it fit);
- the data as training feeds it: ``loader`` (DeviceLoader, the whole split on the
  device), ``augment`` (batched augmentation there) and ``pixels`` (resize, normalise).
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from cnnlab.data import fashion_mnist, folder
from cnnlab.data.augment import Augment
from cnnlab.data.dataset import DataError, DatasetSplits, DataWarning, ImageData, cache_root
from cnnlab.data.idx import IdxFormatError, read_idx, write_idx
from cnnlab.data.loader import DeviceLoader
from cnnlab.dataset_names import FOLDER, dataset_spelling

DATASET_SPECS = ("fashion-mnist", "folder:PATH", "synthetic")


class UnknownDatasetError(DataError, ValueError):
    """A dataset spec that names nothing cnnlab knows."""


def _check_options(spec: str, function, options: dict, positional: int = 0) -> None:
    # Name the bad option and the good ones, instead of Python's bare TypeError.
    # The first ``positional`` parameters (a path) are not options.
    allowed = list(inspect.signature(function).parameters)[positional:]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UnknownDatasetError(
            f"{spec}: unknown option(s) {', '.join(unknown)}; accepted: {', '.join(allowed)}"
        )


def parse_spec(spec: str) -> tuple[str, str | None]:
    """A dataset ``spec`` as ("fashion-mnist", None), ("folder", "PATH") or
    ("synthetic", None), its name in any case (a config file's ``data: Synthetic`` as
    the CLI's ``--data Synthetic``; a folder's path as given); an UnknownDatasetError
    otherwise."""
    if isinstance(spec, os.PathLike):  # load_dataset(Path("photos")): a folder
        spec = FOLDER + os.fspath(spec)
    name = dataset_spelling(spec)  # the names and their spellings are kept there
    if name in ("fashion-mnist", "synthetic"):
        return name, None
    if name.startswith(FOLDER) and name[len(FOLDER):].strip():
        return "folder", name[len(FOLDER):]
    if name.startswith(FOLDER):
        raise UnknownDatasetError(f"{spec!r} names no folder: give folder:PATH, PATH holding "
                                  "one folder of images per class")
    folder = (f"; for the folder {spec!r}, give 'folder:{spec}'"
              if os.path.isdir(os.path.expanduser(spec)) else "")
    raise UnknownDatasetError(
        f"unknown dataset {spec!r}; accepted: {', '.join(DATASET_SPECS)} "
        f"(PATH holds one folder of images per class){folder}"
    )


def load_dataset(
    spec: str = "fashion-mnist", root: str | os.PathLike[str] | None = None, **options: Any
) -> DatasetSplits:
    """The DatasetSplits of a dataset spec: "fashion-mnist" or "folder:PATH".

    Args:
        spec: which dataset; "synthetic" is a small generated set for smoke runs.
        root: for Fashion-MNIST, the only directory looked in when given (in place of
            ``$CNNLAB_DATA``, the cache and the system copy; downloaded into when it
            exists without the files).
            Folders carry their path in the spec, so ``root`` must be None there.
        **options: Fashion-MNIST: ``download`` (default True), ``progress``,
            ``test_only`` (the test split alone: evaluation).
            Folder: ``image_size`` (int or (h, w), default 64), ``channels`` (1 or 3,
            default 3), ``val_fraction`` (default 0.2), ``seed`` (default 0),
            ``progress``, ``use_cache``. Synthetic: see ``cnnlab.data.synthetic.make_synthetic``.

    Raises:
        UnknownDatasetError: unknown spec or option.
        DataError: the data cannot be found or read; the message says why and how to fix it.
    """
    kind, path = parse_spec(spec)
    if kind == "fashion-mnist":
        _check_options(spec, fashion_mnist.load, options, positional=1)
        return fashion_mnist.load(root, **options)
    if root is not None:
        fix = ("its folder is in the spec: give folder:NEWPATH (for a run's folder that "
               "moved, `cnnlab eval RUN` and `resume RUN` take --data-root NEWPATH alone)"
               ) if kind == "folder" else "it is generated, from no files"
        raise UnknownDatasetError(f"{spec}: a data root applies to fashion-mnist only; {fix}")
    if kind == "synthetic":
        from cnnlab.data.synthetic import make_synthetic  # only needed for this spec

        _check_options(spec, make_synthetic, options)
        return make_synthetic(**options)
    _check_options(spec, folder.load_folder, options, positional=1)
    return folder.load_folder(path, **options)


__all__ = [
    "Augment",
    "DeviceLoader",
    "DATASET_SPECS",
    "DataError",
    "DataWarning",
    "DatasetSplits",
    "IdxFormatError",
    "ImageData",
    "UnknownDatasetError",
    "cache_root",
    "load_dataset",
    "parse_spec",
    "read_idx",
    "write_idx",
]


def __dir__() -> list[str]:
    # What tab completion offers: the names above and the package's modules imported so
    # far, not what this file imports to work (`cnnlab.data.inspect` was the standard
    # library's inspect, beside os, Any and annotations). Those still work as attributes.
    # A module's own dunders stay, as dir(cnnlab) and dir(cnnlab.train) keep them
    # (pydoc's DATA section read __all__ off it).
    here = globals()
    return sorted({*__all__, *(name for name, value in here.items()
                               if getattr(value, "__name__", "") == f"{__name__}.{name}"),
                   *(name for name in here if name.startswith("__"))})
