"""The types every data source returns, and the few things they all share.

A dataset is loaded once into plain uint8 tensors; everything after that (device
placement, augmentation, normalisation) belongs to the DeviceLoader. Keeping the
images as uint8 makes Fashion-MNIST 47 MB instead of 188 MB as float32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.notices import CnnlabWarning

# A repr lists this many class names; a folder dataset may have hundreds.
_MAX_CLASSES_SHOWN = 10


def _describe_shape(images: torch.Tensor) -> str:
    """'1x28x28 uint8': one image's shape and the dtype, for reprs."""
    return "x".join(map(str, images.shape[1:])) + " " + str(images.dtype).removeprefix("torch.")


def _looks_channels_last(shape: torch.Size) -> bool:
    """(N, H, W, C): more than four "channels" and rows while the last dim is 1, 3 or 4
    (grey, RGB, RGBA). No image format cnnlab reads has more than four channels; a
    tensor of more, of 4 pixels or fewer a side (make_synthetic(channels=8,
    image_size=4)), is (N, C, H, W) as given, as summary's --input reads 8x4x4."""
    return min(shape[1], shape[2]) > 4 and shape[3] in (1, 3, 4)


class DataError(Exception):
    """Base of every error the data layer raises on purpose.

    The message always names the file or directory at fault and, where there is one,
    the fix; the CLI prints it as is.
    """


class DataWarning(CnnlabWarning):
    """Something was skipped (an unreadable image, an empty class folder) but loading went on."""


@dataclass
class ImageData:
    """One split: ``images`` (uint8, (N, C, H, W)) and their ``labels`` (int64, (N,)),
    index-aligned; other dtypes or shapes are a ValueError."""

    images: torch.Tensor  # uint8, (N, C, H, W), contiguous
    labels: torch.Tensor  # int64, (N,)

    def __post_init__(self) -> None:
        # Check the contract here so a wrong tensor fails where it is made, not
        # deep inside a training step.
        for field, value in (("images", self.images), ("labels", self.labels)):
            if not isinstance(value, torch.Tensor):  # a numpy array read "got uint8 ..."
                raise TypeError(
                    f"ImageData.{field} must be a torch tensor, got {type(value).__name__}"
                    + (f": pass torch.from_numpy({field})" if isinstance(value, np.ndarray)
                       else ""))
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            # (N, H, W): torchvision's FashionMNIST.data, grey images without their channel
            fix = ": pass images.unsqueeze(1)" if self.images.dim() == 3 else ""
            raise ValueError(
                "ImageData.images must be a uint8 tensor of shape (N, C, H, W), got "
                f"{self.images.dtype} with shape {tuple(self.images.shape)}{fix}"
            )
        if _looks_channels_last(self.images.shape):
            # (N, H, W, C) from numpy or PIL passed the checks above and then trained a
            # model of H input channels on images C pixels wide.
            raise ValueError(
                f"ImageData.images of shape {tuple(self.images.shape)} look channels-last "
                "(N, H, W, C); cnnlab keeps images as (N, C, H, W): pass "
                "images.permute(0, 3, 1, 2)")
        if self.labels.dtype != torch.int64 or self.labels.dim() != 1:
            raise ValueError(
                "ImageData.labels must be an int64 tensor of shape (N,), got "
                f"{self.labels.dtype} with shape {tuple(self.labels.shape)}"
            )
        if len(self.images) != len(self.labels):
            raise ValueError(
                f"ImageData has {len(self.images)} images but {len(self.labels)} labels"
            )
        self.images = self.images.contiguous()

    def __len__(self) -> int:
        return len(self.labels)

    def __eq__(self, other: object) -> bool:
        # The dataclass's own compared the tensors with ==, and bool() of that raised
        # "Boolean value of Tensor with more than one value is ambiguous" (a split read
        # back from a pickle, or two DatasetSplits, compared).
        if not isinstance(other, ImageData):
            return NotImplemented
        return (self.images.shape == other.images.shape and torch.equal(
            self.images.cpu(), other.images.cpu()) and torch.equal(self.labels.cpu(),
                                                                   other.labels.cpu()))

    def __repr__(self) -> str:
        # The default dataclass repr prints the image tensors: thousands of characters
        # as the last line of a notebook cell.
        return f"ImageData({len(self)} images of {_describe_shape(self.images)})"

    def class_counts(self, num_classes: int) -> list[int]:
        """How many samples each class has, in class-index order: ``num_classes``
        counts, zeros included."""
        return torch.bincount(self.labels, minlength=num_classes).tolist()


@dataclass
class DatasetSplits:
    """A whole dataset: ``train`` and ``test`` splits (ImageData; a folder's ``test`` is
    its seeded validation split), ``classes``: the name of each label, and the ``name``
    (``"fashion-mnist"``, ``"folder:/abs/path"``, ``"synthetic"``) and ``source`` (where
    it came from, for humans: a path, "downloaded from ...", "cache") it is shown with."""

    name: str  # "fashion-mnist" or "folder:/abs/path"
    train: ImageData
    test: ImageData  # for folder datasets: the seeded validation split
    classes: list[str]
    source: str  # where it came from, for humans: a path, "downloaded from ...", "cache"

    def __post_init__(self) -> None:
        if self.train.images.shape[1:] != self.test.images.shape[1:]:
            raise ValueError(
                f"{self.name}: train images are {tuple(self.train.images.shape[1:])} "
                f"but test images are {tuple(self.test.images.shape[1:])}"
            )
        for split_name, split in (("train", self.train), ("test", self.test)):
            # A negative label (-1 for "unlabelled", say) passed this and ended training's
            # first step in the loss: "Target -1 is out of bounds", or a CUDA assert.
            for label in (int(split.labels.min()), int(split.labels.max())) if len(split) else ():
                if not 0 <= label < len(self.classes):
                    n = len(self.classes)
                    fix = "; leave out the images that have no class" if label < 0 else ""
                    raise ValueError(
                        f"{self.name}: {split_name} label {label} has no class name "
                        f"({f'{n} classes: labels 0..{n - 1}' if n else 'no classes given'})"
                        f"{fix}")

    def __repr__(self) -> str:
        classes = ", ".join(self.classes[:_MAX_CLASSES_SHOWN])
        if len(self.classes) > _MAX_CLASSES_SHOWN:
            classes += f", ... ({len(self.classes)} in all)"
        return (f"DatasetSplits({self.name!r}, train={len(self.train)}, test={len(self.test)}, "
                f"images {_describe_shape(self.train.images)}, "
                f"{self.num_classes} classes: {classes}; source: {self.source})")

    @property
    def num_classes(self) -> int:
        """How many classes: ``len(classes)``."""
        return len(self.classes)

    @property
    def channels(self) -> int:
        """Channels of every image (1: grey, 3: RGB)."""
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return int(self.train.images.shape[2]), int(self.train.images.shape[3])


def rows_reordered(images: np.ndarray, order: np.ndarray) -> torch.Tensor:
    """``images[order]`` (``order`` a permutation of the rows), made in place: a row at a
    time along each cycle of the permutation, one row held aside. Indexing made a copy of
    every image while the decoded ones were still held, twice the dataset's memory at the
    peak, for a folder as large as the machine holds."""
    if not images.flags.writeable:  # an older safetensors' read-only buffer: one copy
        images = images.copy()
    done = np.zeros(len(order), bool)
    for start in np.flatnonzero(order != np.arange(len(order))).tolist():
        if done[start]:
            continue
        held, here = images[start].copy(), start
        while True:
            done[here] = True
            source = int(order[here])
            if source == start:
                images[here] = held
                break
            images[here] = images[source]
            here = source
    return torch.from_numpy(images)


class CacheLocationError(DataError, OSError):
    """No folder can be named for cnnlab's caches: neither ``$CNNLAB_CACHE`` nor
    ``$XDG_CACHE_HOME`` is set, and this user has no home folder. An OSError too, so that
    a cache kept only for speed (the complexity counts) goes on without it."""


def cache_root() -> Path:
    """Where cnnlab keeps downloads and decoded caches.

    ``$CNNLAB_CACHE`` when set (tests point it at a temporary directory), otherwise
    ``$XDG_CACHE_HOME/cnnlab``, which is ``~/.cache/cnnlab`` on most systems. A relative
    ``$XDG_CACHE_HOME`` is ignored, as the XDG spec says (the cache moved with the
    current folder). Raises CacheLocationError where none of them can be told: a
    container's user id with no home, HOME unset (pathlib's RuntimeError was a traceback
    in every command that reads Fashion-MNIST).
    """
    explicit = os.environ.get("CNNLAB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.path.expanduser(os.environ.get("XDG_CACHE_HOME", ""))  # never raises
    if os.path.isabs(xdg):
        return Path(xdg) / "cnnlab"
    home = os.path.expanduser("~")  # "~" as it was where no home can be found
    if not os.path.isabs(home):
        why = (f"HOME={os.environ['HOME']!r} is no absolute path" if os.environ.get("HOME")
               else "HOME is not set, and this user id has no home folder")
        raise CacheLocationError(
            f"cnnlab cannot tell where to keep its cache: {why}; set CNNLAB_CACHE to a "
            "folder this user can write (export CNNLAB_CACHE=/path/to/cache)")
    return Path(home) / ".cache" / "cnnlab"
