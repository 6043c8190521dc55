"""The data as a run feeds it: what the splits must allow before anything is built, and
the device-resident loaders with the config's augmentation, resize and normalisation.
(The model's side is :mod:`cnnlab.train.model_setup`.)"""

from __future__ import annotations

import math

import torch

from cnnlab.data.dataset import DataError, DatasetSplits
from cnnlab.data.loader import DeviceLoader
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.distributed import DistInfo
from cnnlab.train.evaluate import Preprocess


def check_data(cfg: TrainConfig, data: DatasetSplits, world_size: int = 1) -> None:
    """Refuse, before anything is built, data the run cannot use: an empty split (a
    loader would only say "empty"), fewer test images than processes (each evaluates its
    own share), or a crop padding as large as the images."""
    for split, part in (("training", data.train), ("test", data.test)):
        if len(part):
            continue
        hint = ""
        if data.name.startswith("folder:") and split == "test":
            hint = ("; every class has a single image, so none could be held out for "
                    "validation: give each class at least 2 images")
        raise DataError(f"{data.name}: the {split} split has no images{hint}")
    evaluated = min(len(data.test), cfg.eval_subset or len(data.test))
    if evaluated < world_size:  # every rank checks this alike, before any collective
        subset = " (eval_subset)" if cfg.eval_subset and cfg.eval_subset < len(data.test) else ""
        raise DataError(
            f"{data.name}: {evaluated} test image{'s' if evaluated > 1 else ''}{subset} for "
            f"{world_size} processes, and each process evaluates its own share: evaluate "
            f"on at least {world_size} (--eval-subset {world_size}), or run fewer processes")
    height, width = data.train.images.shape[2:]
    if cfg.crop_padding >= min(height, width):
        # Crops are cut from the images as stored: more padding than the image leaves
        # crops of padding alone (black), not translated images.
        raise ConfigError(f"crop_padding={cfg.crop_padding} does not fit the data's "
                          f"{height}x{width} images: translate by a few pixels (1 to 4), "
                          "or 0 for none")


def make_loader(cfg: TrainConfig, pp: Preprocess, images: torch.Tensor,
                labels: torch.Tensor, train: bool, device: torch.device,
                dist: DistInfo) -> DeviceLoader:
    """A training loader (shuffled, augmented, this rank's share) or an evaluation one
    (in order, larger batches), resizing and normalising as ``pp`` says."""
    augment = None
    if train and (cfg.crop_padding or cfg.flip or cfg.erase_prob):
        from cnnlab.data.augment import Augment

        augment = Augment(crop_padding=cfg.crop_padding, flip=cfg.flip,
                          flip_mode=cfg.flip_mode,
                          erase_prob=cfg.erase_prob)
    height = images.shape[2]
    # A last training batch of a single image is dropped (a different one each epoch):
    # batch norm cannot normalise one value per channel (BatchNorm1d raises), and one
    # image's gradient at the full lr is mostly noise. Every other batch size is kept,
    # and so is a lone image that is the whole epoch.
    per_rank = math.ceil(len(labels) / dist.world_size)
    drop_last = train and per_rank % cfg.batch_size == 1 and per_rank > cfg.batch_size
    return DeviceLoader(
        images, labels, cfg.batch_size if train else max(cfg.batch_size, 512),
        device=device, shuffle=train, drop_last=drop_last, seed=cfg.seed,
        augment=augment, resize=pp.image_size if pp.image_size != height else None,
        mean=pp.mean, std=pp.std, channels_last=pp.channels_last,
        rank=dist.rank if train else 0,
        world_size=dist.world_size if train else 1,
    )
