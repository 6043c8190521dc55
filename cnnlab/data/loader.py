"""DeviceLoader: the whole dataset resident on the training device, batched by indexing.

The book's loader decodes, resizes and converts every image in Python, per image,
every epoch (ANCHORS §1: "per-image PIL resize on the CPU every epoch"). A small
dataset like Fashion-MNIST (47 MB as uint8) fits on any device, so this loader keeps
it there as uint8 and makes each batch with a handful of tensor ops:

    permutation slice -> index_select (uint8) -> [crop + flip, one gather]
    -> one float conversion with fused normalisation -> [resize] -> [erase]

Where the work happens, and why:

* **Resize cache.** Without random crop, the resize is the same every epoch, so it
  is done once, into a resident uint8 cache at the target size; batches are then only
  indexed. uint8 is also what the book's pipeline holds after ``Resize`` on a PIL
  image, and on CPU the cache reproduces those pixels exactly (see
  :func:`cnnlab.data.augment.resize`). 60,000 images at 96 x 96 take 553 MB.
* **Crop and flip at native resolution, then resize.** ``crop_padding`` counts
  pixels of the stored images (2 px on a 28 px Fashion-MNIST image), and cropping
  28 x 28 windows is 12x cheaper than 96 x 96 ones. With random crop on there is no
  cache: each batch is cropped, converted and normalised at native resolution, then
  resized as floats by two small matrix products (same filter, but no fixed-point
  arithmetic or rounding to uint8: values differ from the cached path by at most
  one grey level). A flip
  alone commutes with the symmetric bilinear resize, so it is applied to cached
  images without losing the cache.
* **Erasing last**, on the normalised batch at output resolution, so the rectangle
  is sharp and its fill value is in normalised units.

Randomness is a pure function of ``(seed, epoch)`` (the order) and of
``(seed, epoch, rank, batch)`` (the augmentation), so epoch k, or batch b of it, is
reproduced without replaying anything before it: that is what exact resume needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch

from cnnlab.data.augment import (
    Augment,
    apply_pixel_affine,
    crop,
    erase,
    hflip,
    interpolation_matrix,
    pixel_affine,
    resize,
    resize_with_matrices,
    sample_crop_offsets,
    sample_erase_boxes,
    sample_flips,
)

_MASK64 = (1 << 64) - 1
# Stream tags keep the order and the augmentation draws independent.
_ORDER_STREAM, _AUGMENT_STREAM, _FLIP_STREAM = 0x6F72646572, 0x6175676D, 0x666C6970
# A tensor this large or larger Apple's MPS indexes wrongly before torch 2.14 (__init__).
_MPS_MAX_ELEMENTS = 2**31

# Images per chunk when building the resize cache: bounds the temporary memory.
_CACHE_CHUNK = 4096


def mix_seed(*values: int) -> int:
    """Hash integers into one 63-bit seed (SplitMix64 finaliser per value).

    ``seed + epoch`` would make (seed 0, epoch 1) and (seed 1, epoch 0) the same
    permutation, so runs with neighbouring seeds would share shifted orders.
    """
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & _MASK64)) & _MASK64
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 31
    return h & ((1 << 63) - 1)


def _check_inputs(images: torch.Tensor, labels: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        got = (f"{images.dtype} with shape {tuple(images.shape)}"
               if isinstance(images, torch.Tensor) else type(images).__name__)
        raise ValueError(
            f"images must be a uint8 tensor N x C x H x W, got {got}; "
            "add a channel dim with images.unsqueeze(1), and convert [0, 1] floats with "
            "(x * 255).round().to(torch.uint8)")
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1:
        raise ValueError("labels must be a 1-D integer tensor with one label per image")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integers (int64), got {labels.dtype}")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    if images.shape[0] == 0:
        raise ValueError("the dataset is empty")


def _size_pair(size: int | Sequence[int] | None, native: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return native
    pair = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"resize must be a positive int or (height, width), got {size!r}")
    return pair


def resize_dataset(images: torch.Tensor, size: int | Sequence[int],
                   chunk: int = _CACHE_CHUNK) -> torch.Tensor:
    """Resize a whole uint8 dataset, chunk by chunk, into one uint8 tensor."""
    out_h, out_w = _size_pair(size, tuple(images.shape[-2:]))
    n, c = images.shape[:2]
    out = torch.empty((n, c, out_h, out_w), dtype=torch.uint8, device=images.device)
    for start in range(0, n, chunk):
        out[start:start + chunk] = resize(images[start:start + chunk], (out_h, out_w))
    return out


# The share of a device's free memory the data may take: the rest is the model's (its
# weights, activations and optimiser state) and the other split's.
_DATA_SHARE = 0.75


def _fits(shape: tuple[int, ...], devices: tuple[torch.device, ...], instead: str) -> bool:
    """Whether uint8 images of ``shape`` fit in the free memory of each of ``devices``
    (each that can tell); where one has no room, a warning says so and what is done
    ``instead``. Filling a tensor larger than the CPU's free memory had the system kill
    the process (memory is promised lazily); a GPU's raised OutOfMemoryError."""
    from cnnlab.data.dataset import DataWarning
    from cnnlab.data.memory import available_memory
    from cnnlab.formatting import format_bytes
    from cnnlab.notices import warn_user

    need = math.prod(shape)
    for device in dict.fromkeys(devices):
        free = available_memory(device)
        if free is not None and need > _DATA_SHARE * free:
            warn_user(f"{shape[0]:,} images of {'x'.join(map(str, shape[1:]))} take "
                      f"{format_bytes(need)}, and {device} has {format_bytes(free)} free, "
                      f"which the model needs too: {instead}", DataWarning)
            return False
    return True


def _indexed_wrongly_on(device: torch.device, data: torch.Tensor) -> bool:
    return device.type == "mps" and data.numel() >= _MPS_MAX_ELEMENTS


class DeviceLoader:
    """Batches ``(x, y)`` from a dataset held on ``device``; see the module docstring.

    Args:
        images: uint8 ``N x C x H x W`` (CPU or already on the device).
        labels: integer ``N``; stored as int64.
        batch_size: samples per batch (per rank).
        device: where data lives and batches are made ("cpu", "cuda", "cuda:1", ...).
        shuffle: a fresh seeded permutation each epoch; False gives the dataset order
            (evaluation).
        drop_last: drop each epoch's incomplete last batch; with ``world_size > 1``
            also drop the permutation's tail that does not divide evenly among ranks
            (instead of padding it, see below).
        seed: the run's seed; order and augmentation derive from it.
        augment: per-sample random augmentation, or None (evaluation).
        resize: output size (int: square, or (height, width)); None keeps the size.
        mean, std: per-channel normalisation in [0, 1] units (as torchvision's
            ``Normalize``); None for both gives plain /255 scaling (as ``ToTensor``).
        channels_last: return batches in ``torch.channels_last`` memory format.
        dtype: floating dtype of ``x`` (float32, bfloat16, float16).
        rank, world_size: this process's shard for distributed training. Every rank
            uses the same epoch permutation and takes every ``world_size``-th entry
            starting at ``rank``, so shards are disjoint. When N does not divide by
            ``world_size``: with ``drop_last=False`` the permutation is padded by
            wrapping around to its start (a few samples are seen twice per epoch,
            as with PyTorch's ``DistributedSampler``); with ``drop_last=True`` the
            tail is dropped (it changes each epoch, so nothing is always left out).
            Either way every rank has the same number of batches.
        cache_resized: keep a resized uint8 copy of the dataset when the resize is
            deterministic (no random crop); False resizes every batch instead.

    Iterating gives one epoch: ``x`` floating ``B x C x H' x W'`` and ``y`` int64 ``B``,
    both on ``device``. Each ``iter()`` plays epoch :attr:`epoch` and then advances
    it, so a plain ``for epoch in ...: for x, y in loader`` sees a new order each
    epoch; call :meth:`set_epoch` to choose (resume, distributed runs).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        device: torch.device | str = "cpu",
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int = 0,
        augment: Augment | None = None,
        resize: int | Sequence[int] | None = None,
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
        channels_last: bool = False,
        dtype: torch.dtype = torch.float32,
        rank: int = 0,
        world_size: int = 1,
        cache_resized: bool = True,
    ) -> None:
        _check_inputs(images, labels)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, "
                             f"world_size={world_size}")
        if not dtype.is_floating_point:
            raise TypeError(f"dtype must be floating (float32, bfloat16, ...), got {dtype}")
        if augment is not None and not isinstance(augment, Augment):
            raise TypeError(f"augment must be an Augment or None, got {type(augment).__name__}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.augment = augment if augment is not None and augment.enabled else None
        self.dtype = dtype
        self.channels_last = channels_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._start_batch = 0

        n, c, h, w = images.shape
        self.dataset_size = n
        self.output_size = _size_pair(resize, (h, w))
        crop_padding = self.augment.crop_padding if self.augment else 0
        if self.augment and self.augment.pad_mode == "reflect" and crop_padding >= min(h, w):
            raise ValueError(f"reflect padding {crop_padding} must be smaller than the images "
                             f"({h} x {w}); use pad_mode='zeros' or less padding")
        needs_resize = self.output_size != (h, w)
        # The resize is deterministic unless a random crop precedes it (flip commutes).
        self.cached_resize = needs_resize and cache_resized and crop_padding == 0
        if self.cached_resize:  # made where the images are, then moved to the device
            self.cached_resize = _fits((n, c, *self.output_size), (images.device, self.device),
                                       "not kept resized: each batch is resized as it is made "
                                       "(slower). A smaller --resize keeps them resized")
        data = resize_dataset(images, self.output_size) if self.cached_resize else images
        # Apple's MPS reads rows past 2**31 elements of a tensor as zeros, silently,
        # before torch 2.14 (pytorch/pytorch#188756): Fashion-MNIST at 224 pixels is
        # 3.0e9. Such a dataset stays on the CPU; each batch is taken there, then moved.
        # So does one the device has no room for (a GPU's memory is smaller than RAM).
        moved = data.device.type == "cpu" and self.device.type != "cpu"
        self._rows_on_cpu = _indexed_wrongly_on(self.device, data) or moved and not _fits(
            tuple(data.shape), (self.device,), "they stay in the CPU's memory, each batch "
            f"copied to {self.device} (slower). A smaller --resize keeps them on {self.device}")
        self._data = data.cpu() if self._rows_on_cpu else data.to(self.device)
        self._batch_resize = needs_resize and not self.cached_resize
        if self._batch_resize:
            self._resize_rows = interpolation_matrix(h, self.output_size[0], device=self.device)
            self._resize_cols = interpolation_matrix(w, self.output_size[1], device=self.device)
        self._labels = labels.to(self.device, torch.int64)
        self._scale, self._shift = pixel_affine(mean, std, c, self.device)
        self._order_gen = torch.Generator(device=self.device)
        self._augment_gen = torch.Generator(device=self.device)
        self._first_flips = None
        if self.augment and self.augment.flip and self.augment.flip_mode == "alternate":
            # Each image's flip in epoch 0, from the seed alone; later epochs invert it
            # every other epoch (see _flips), so the flip of (image, epoch) needs no state.
            self._augment_gen.manual_seed(mix_seed(self.seed, _FLIP_STREAM))
            self._first_flips = sample_flips(n, self._augment_gen)

    # ------------------------------------------------------------------ sizes

    @property
    def num_samples(self) -> int:
        """Samples this rank yields per epoch (after sharding and ``drop_last``)."""
        per_rank = self._per_rank()
        if self.drop_last:
            return per_rank // self.batch_size * self.batch_size
        return per_rank

    def __len__(self) -> int:
        """Batches per epoch for this rank."""
        per_rank = self._per_rank()
        if self.drop_last:
            return per_rank // self.batch_size
        return math.ceil(per_rank / self.batch_size)

    def real_samples(self, batch: int) -> tuple[int, int]:
        """(this rank's, all ranks') images in batch ``batch`` of an epoch that are not
        padding: the repeats that pad the permutation (``world_size > 1`` without
        ``drop_last``) come last in a rank's last batch, so its first ``own`` images are
        real. Known alike on every rank without a collective: rank r holds positions r,
        r + world_size, ... of the padded permutation, and those from ``dataset_size``
        on are the repeats. The trainer weighs the repeats 0 with these counts."""
        lo = batch * self.batch_size
        hi = min(lo + self.batch_size, self.num_samples)
        own = len(range(self.rank + self.world_size * lo,
                        min(self.dataset_size, self.world_size * hi), self.world_size))
        total = max(0, min(self.dataset_size, self.world_size * hi) - self.world_size * lo)
        return own, total

    def _per_rank(self) -> int:
        if self.drop_last:
            return self.dataset_size // self.world_size
        return math.ceil(self.dataset_size / self.world_size)

    # ------------------------------------------------------------------ order

    def set_normalisation(self, mean: Sequence[float] | None,
                          std: Sequence[float] | None) -> None:
        """Normalise batches by ``mean`` and ``std`` from here on (a resumed run's own)."""
        self._scale, self._shift = pixel_affine(mean, std, self._data.shape[1], self.device)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Make the next iteration play ``epoch``, starting at batch ``start_batch``.

        Batches then are exactly those an uninterrupted run gives for that epoch, so a
        run resumed from a checkpoint taken after ``start_batch`` batches continues
        bit for bit (on the same device type and PyTorch version).
        """
        if epoch < 0 or not 0 <= start_batch <= len(self):
            raise ValueError(f"need epoch >= 0 and 0 <= start_batch <= {len(self)}, "
                             f"got epoch={epoch}, start_batch={start_batch}")
        self.epoch, self._start_batch = int(epoch), int(start_batch)

    def indices(self, epoch: int) -> torch.Tensor:
        """This rank's sample indices for ``epoch``, in order (``num_samples`` of them)."""
        n = self.dataset_size
        if self.shuffle:
            self._order_gen.manual_seed(mix_seed(self.seed, epoch, _ORDER_STREAM))
            order = torch.randperm(n, generator=self._order_gen, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        if self.world_size > 1:
            total = self._per_rank() * self.world_size
            if total > n:  # pad by wrapping; repeat() covers world_size > n as well
                order = order.repeat(math.ceil(total / n))
            order = order[:total][self.rank::self.world_size]
        return order[:self.num_samples]

    # ------------------------------------------------------------------ batches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch, start = self.epoch, self._start_batch
        self.epoch, self._start_batch = epoch + 1, 0
        return self._epoch_batches(epoch, start)

    def _epoch_batches(self, epoch: int, start: int
                       ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.indices(epoch)
        # Where the rows are (the CPU, for a dataset too large for MPS): moved once an epoch,
        # not a batch at a time (each copy from the device waits for its queued work).
        rows_order = order.to(self._data.device)
        contiguous = not self.shuffle and self.world_size == 1
        for b in range(start, len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.num_samples)
            idx = order[lo:hi]
            if contiguous:
                # Evaluation order is the storage order: slice views, no gather. Safe
                # because every later step writes into a new tensor.
                x, y = self._data[lo:hi], self._labels[lo:hi]
            else:
                x = self._data.index_select(0, rows_order[lo:hi])
                y = self._labels.index_select(0, idx)
            x = x.to(self.device)  # a no-op unless the rows stay on the CPU
            yield self._transform(x, epoch, b, idx), y

    def batch(self, epoch: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``index`` of ``epoch``, exactly as iteration would make it."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        return next(self._epoch_batches(epoch, index))

    def _flips(self, n: int, epoch: int, indices: torch.Tensor) -> torch.Tensor:
        """Which of the batch's ``n`` samples to mirror (``self._augment_gen`` is seeded)."""
        if self._first_flips is None:
            return sample_flips(n, self._augment_gen)
        first = self._first_flips.index_select(0, indices)
        return first if epoch % 2 == 0 else ~first

    def _transform(self, x: torch.Tensor, epoch: int, batch: int,
                   indices: torch.Tensor) -> torch.Tensor:
        aug = self.augment
        gen = None
        if aug is not None:
            # Reseeded per batch: batch b's draws depend on nothing before it.
            gen = self._augment_gen
            gen.manual_seed(mix_seed(self.seed, epoch, self.rank, batch, _AUGMENT_STREAM))
            n = x.shape[0]
            flips = self._flips(n, epoch, indices) if aug.flip else None
            if aug.crop_padding > 0:
                offsets = sample_crop_offsets(n, aug.crop_padding, gen)
                x = crop(x, offsets, aug.crop_padding, pad_mode=aug.pad_mode, flip=flips)
            elif flips is not None:
                x = hflip(x, flips)
        if self._batch_resize:
            # Convert and normalise at the stored resolution (12x fewer pixels for
            # 28 -> 96), then resize the floats: the filter's weights sum to 1, so the
            # affine map commutes with it. No rounding back to uint8 here.
            x = apply_pixel_affine(x, self._scale, self._shift)
            x = resize_with_matrices(x, self._resize_rows, self._resize_cols)
            layout = torch.channels_last if self.channels_last else torch.preserve_format
            x = x.to(self.dtype, memory_format=layout)
        else:
            x = apply_pixel_affine(x, self._scale, self._shift, dtype=self.dtype,
                                   channels_last=self.channels_last)
        if aug is not None and aug.erase_prob > 0:
            boxes = sample_erase_boxes(x.shape[0], x.shape[-2], x.shape[-1], gen,
                                       p=aug.erase_prob, scale=aug.erase_scale,
                                       ratio=aug.erase_ratio)
            erase(x, boxes, aug.erase_value, inplace=True)
        return x

    def __repr__(self) -> str:
        # The words first, then attributes by their names (n=, batches= and out= were
        # none: loader.n raised AttributeError).
        c, (h, w) = self._data.shape[1], self.output_size
        return (f"DeviceLoader({len(self)} batches of {c}x{h}x{w} "
                f"{str(self.dtype).removeprefix('torch.')}: dataset_size={self.dataset_size}, "
                f"batch_size={self.batch_size}, device={self.device}, shuffle={self.shuffle}, "
                f"augment={self.augment}, rank={self.rank}, world_size={self.world_size}, "
                f"cached_resize={self.cached_resize})")
