"""Loader benchmark: DeviceLoader against the book's torchvision DataLoader.

One epoch of the Fashion-MNIST training set at the book's ResNet/GoogLeNet setting
(resize 28 -> 96, batch 128), no model: the time to produce every batch as float
tensors ready for a forward pass. The baseline is exactly the book's pipeline:
a PIL image per sample, ``transforms.Compose([Resize(96), ToTensor()])``, a
``DataLoader`` with worker processes (ANCHORS §5: 3.98 s, 15,074 img/s with 2
workers on this project's 2-core CPU machines).

Rules that keep the comparison fair:

* both run in the same process, on the same images, one after the other;
* nothing float is cached between epochs; the DeviceLoader's one-off uint8 resize
  cache is timed on its own ("setup") and reported, not hidden;
* "epoch 1" is the first pass (the book's includes starting its workers, as every
  one of its epochs does); later epochs show the steady state;
* with ``repeats > 1`` each phase keeps its best time, the usual way to read
  through noise from other processes on a shared machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import torch
from PIL import Image

from cnnlab.data.augment import Augment
from cnnlab.data.loader import DeviceLoader
from cnnlab.formatting import counted
from cnnlab.train.device import synchronize, torch_threads

# (row key, column header) in display order, for a rich table.
COLUMNS = (
    ("pipeline", "pipeline"),
    ("parallelism", "runs on"),
    ("phase", "phase"),
    ("seconds", "seconds"),
    ("images_per_s", "images/s"),
    ("speedup", "vs book"),
)

BOOK = "book: torchvision DataLoader, PIL Resize + ToTensor"


class PILImages(torch.utils.data.Dataset):
    """What ``torchvision.datasets.FashionMNIST`` does per item: a PIL image, then the
    transform. Module level so worker processes can pickle it under any start method.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor,
                 transform: Callable[[Image.Image], torch.Tensor]) -> None:
        array = images.permute(0, 2, 3, 1).numpy()  # N x H x W x C, as PIL wants
        self.images = array[..., 0] if array.shape[-1] == 1 else array
        self.labels = labels.numpy()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def book_transform(resize: int) -> Callable[[Image.Image], torch.Tensor]:
    """The book's per-image transform: ``Compose([Resize(resize), ToTensor()])``."""
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(resize), transforms.ToTensor()])


def book_loader(images: torch.Tensor, labels: torch.Tensor, resize: int, batch_size: int,
                workers: int) -> torch.utils.data.DataLoader:
    """The book's ``FashionMNIST(batch_size, resize).train_dataloader()``, rebuilt."""
    return torch.utils.data.DataLoader(PILImages(images, labels, book_transform(resize)),
                                       batch_size=batch_size, shuffle=True,
                                       num_workers=workers)


def _time_epoch(batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                device: torch.device) -> tuple[float, int]:
    synchronize(device)
    start = time.perf_counter()
    n = 0
    for x, _ in batches:
        n += x.shape[0]
    synchronize(device)  # GPU batches are only ready once the queued kernels have run
    return time.perf_counter() - start, n


def _measure_once(make: Callable[[], Iterable], epochs: int,
                  device: torch.device) -> dict[str, tuple[float, int]]:
    """``{phase: (seconds, images)}`` for building a fresh loader and ``epochs`` epochs."""
    synchronize(device)
    start = time.perf_counter()
    loader = make()
    synchronize(device)
    phases = {"setup": (time.perf_counter() - start, 0)}
    for e in range(epochs):
        phases[f"epoch {e + 1}"] = _time_epoch(loader, device)
    return phases


def _load_train(dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    from cnnlab.data import load_dataset

    train = load_dataset(dataset).train
    return train.images, train.labels


def run_loader_bench(resize: int = 96, batch_size: int = 128, workers: int = 2,
                     epochs: int = 2, device: str = "cpu", repeats: int = 1,
                     augment: bool = True, threads: int | None = None,
                     dataset: str = "fashion-mnist",
                     data: tuple[torch.Tensor, torch.Tensor] | None = None) -> list[dict]:
    """Time the book's loader and the DeviceLoader variants; one dict per (pipeline, phase).

    Args:
        resize: output side (the book uses 96 for ResNet-18/GoogLeNet, 224 for AlexNet).
        batch_size: samples per batch.
        workers: the book loader's worker processes.
        epochs: timed epochs per pipeline (the first is the cold one).
        device: where the DeviceLoader makes batches ("cpu", "cuda").
        repeats: measure everything this many times and keep each phase's best.
        augment: also time the DeviceLoader with per-sample crop (padding 2) + flip.
        threads: torch intra-op threads for the DeviceLoader on CPU (restored after);
            None keeps the current setting. On a machine shared with other busy
            processes, 1 thread can be several times faster than 2: each parallel op
            waits at a barrier for its slowest thread, and a descheduled thread
            stalls it for a whole time slice (the book's worker processes do not
            share barriers, so they degrade gracefully).
        dataset: which dataset's training split to load (when ``data`` is None).
        data: ``(images, labels)`` to use instead, uint8 N x C x H x W and int64 N.

    Returns:
        Rows with keys ``pipeline, parallelism, phase, seconds, images, images_per_s,
        speedup`` (``images`` and ``images_per_s`` are 0 and None for setup rows);
        ``speedup`` is the book loader's fastest epoch divided by this row's time
        (None for setup rows and the book itself). See :data:`COLUMNS`.
    """
    images, labels = data if data is not None else _load_train(dataset)
    dev = torch.device(device)
    common = dict(device=dev, resize=resize)
    variants: list[tuple[str, Callable[[], Iterable]]] = [
        ("DeviceLoader (resident, resize cache)",
         lambda: DeviceLoader(images, labels, batch_size, **common)),
        ("DeviceLoader (resident, resize per batch)",
         lambda: DeviceLoader(images, labels, batch_size, cache_resized=False, **common)),
    ]
    if augment:
        aug = Augment(crop_padding=2, flip=True)
        variants.append(("DeviceLoader + crop 2 + flip, per sample",
                         lambda: DeviceLoader(images, labels, batch_size, augment=aug, **common)))

    pipelines: list[tuple[str, Callable[[], Iterable], torch.device]] = [
        (BOOK, lambda: book_loader(images, labels, resize, batch_size, workers),
         torch.device("cpu")),
    ] + [(name, make, dev) for name, make in variants]
    # How workers start matters to the book's times: spawn (Windows, macOS) starts a
    # fresh interpreter and pickles the dataset for each, every epoch; fork (Linux) not.
    start = _worker_start_method()
    parallelism = {BOOK: f"{workers} worker process{'es' if workers > 1 else ''} ({start})"
                   if workers else "main process"}
    best: dict[tuple[str, str], tuple[float, int]] = {}
    # Every repeat runs every pipeline, so slow spells from other processes hit all
    # of them alike; each phase keeps its best time.
    for _ in range(repeats):
        for name, make, where in pipelines:
            with torch_threads(None if name == BOOK else threads) as n_threads:
                phases = _measure_once(make, epochs, where)
            if name != BOOK:
                parallelism[name] = (f"cpu, {counted(n_threads, 'thread')}" if where.type == "cpu"
                                     else str(where))
            for phase, (sec, n) in phases.items():
                key = (name, phase)
                if key not in best or sec < best[key][0]:
                    best[key] = (sec, n)

    rows = [{"pipeline": name, "parallelism": parallelism[name], "phase": phase,
             "seconds": sec, "images": n, "images_per_s": n / sec if n else None,
             "speedup": None}
            for (name, phase), (sec, n) in best.items()
            if not (name == BOOK and phase == "setup")]
    # The book's epochs are all alike (its workers restart every epoch), so its
    # fastest epoch is the fair, conservative baseline for every epoch row.
    book_best = min(r["seconds"] for r in rows if r["pipeline"] == BOOK)
    for r in rows:
        if r["pipeline"] != BOOK and r["phase"] != "setup":
            r["speedup"] = book_best / r["seconds"]
    return rows


def _worker_start_method() -> str:
    """How DataLoader workers start here, without fixing it as get_start_method() would
    (the first of get_all_start_methods() is the platform's default)."""
    import multiprocessing

    return (multiprocessing.get_start_method(allow_none=True)
            or multiprocessing.get_all_start_methods()[0])


def pixel_difference(images: torch.Tensor, labels: torch.Tensor, resize: int = 96,
                     n: int = 256) -> float:
    """Largest |DeviceLoader - book loader| over the first ``n`` images (0.0 on CPU:
    the resize cache holds exactly the pixels PIL makes)."""
    images, labels = images[:n], labels[:n]
    x, _ = next(iter(DeviceLoader(images, labels, len(labels), shuffle=False, resize=resize)))
    book = PILImages(images, labels, book_transform(resize))
    ref = torch.stack([book[i][0] for i in range(len(labels))])
    return float((x - ref).abs().max())
