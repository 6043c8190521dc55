"""The data as a run feeds it: what the splits must allow before anything is built, the
device-resident loaders with the config's augmentation, resize and normalisation, and
the record of data given to ``train()`` (data.json), which ``resume`` checks. (The
model's side is :mod:`cnnlab.train.model_setup`.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import torch

from cnnlab.atomic import atomic_write_text
from cnnlab.data.dataset import DataError, DatasetSplits, DataWarning, ImageData
from cnnlab.data.folder_names import reencoded_names_problem, same_names
from cnnlab.data.loader import DeviceLoader
from cnnlab.formatting import first_few
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.distributed import DistInfo
from cnnlab.train.evaluate import Preprocess
from cnnlab.train.run_files import DATA_RECORD


def check_data(cfg: TrainConfig, data: DatasetSplits, world_size: int = 1) -> None:
    """Refuse, before anything is built, data the run cannot use: an empty split (a
    loader would only say "empty"), fewer test images than processes (each evaluates its
    own share), or a crop padding as large as the images."""
    for split, part in (("training", data.train), ("test", data.test)):
        if len(part):
            continue
        hint = ""
        if data.name.startswith("folder:") and split == "test":
            single = max(data.train.class_counts(data.num_classes), default=0) <= 1
            hint = ("; every class has a single image, so none could be held out for "
                    "validation: give each class at least 2 images") if single else (
                    "; none was held out (load_dataset(..., val_fraction=0)?): hold out a "
                    "share of each class (val_fraction=0.2, the default)")
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


def training_subset(data: DatasetSplits, train_subset: int | None,
                    warn: bool = True) -> DatasetSplits:
    """``data`` with its training split cut to its first ``train_subset`` images (all of
    them when None or more). A prefix is a fair sample where the split is in no order
    of class: Fashion-MNIST's is shuffled, and so is a folder's (cnnlab.data.folder);
    one that misses classes is warned about where ``warn`` (the main process)."""
    if train_subset is None or train_subset >= len(data.train):
        return data
    part = ImageData(data.train.images[:train_subset], data.train.labels[:train_subset])
    held, present = len(part.labels.unique()), len(data.train.labels.unique())
    # Ten images a class or more: in a random order all are then there but by a rare
    # chance (under 1 in 1,000 for ten classes), so one missing says the order is not.
    if held < present and train_subset >= 10 * present and warn:
        from cnnlab.notices import SetupWarning, warn_user

        warn_user(f"train_subset={train_subset}: the first {train_subset:,} training images "
                  f"hold {held} of the {present} classes the split has (is it sorted by "
                  "class?); shuffle the training split, or train on more images",
                  SetupWarning)
    return dataclasses.replace(data, train=part)


def drops_a_lone_last_image(images: int, batch_size: int) -> bool:
    """Whether an epoch of ``images`` in batches of ``batch_size`` drops its last batch:
    one of a single image that is not the whole epoch (make_loader says why). The
    steps a design sweep counts (design/describe.py) follow it."""
    return images % batch_size == 1 and images > batch_size


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
    side = pp.image_size  # square: images of another height or width are resized to it
    # A last training batch of a single image is dropped (a different one each epoch):
    # batch norm cannot normalise one value per channel (BatchNorm1d raises), and one
    # image's gradient at the full lr is mostly noise. Every other batch size is kept,
    # and so is a lone image that is the whole epoch.
    per_rank = math.ceil(len(labels) / dist.world_size)
    drop_last = train and drops_a_lone_last_image(per_rank, cfg.batch_size)
    return DeviceLoader(
        images, labels, cfg.batch_size if train else max(cfg.batch_size, 512),
        device=device, shuffle=train, drop_last=drop_last, seed=cfg.seed,
        augment=augment, resize=side if tuple(images.shape[2:]) != (side, side) else None,
        mean=pp.mean, std=pp.std, channels_last=pp.channels_last,
        rank=dist.rank if train else 0,
        world_size=dist.world_size if train else 1,
    )


def evaluation_share(test: ImageData, eval_subset: int | None,
                     dist: DistInfo) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(images, labels) of ``test`` that this process evaluates, and how many the run
    evaluates in all: the split's first ``eval_subset`` (all of it where None); under
    DDP (``dist``) each rank a disjoint slice of those, whose sums are all-reduced."""
    images, labels = test.images, test.labels
    if eval_subset:
        images, labels = images[:eval_subset], labels[:eval_subset]
    evaluated = len(labels)
    if dist.enabled:
        share = slice(dist.rank, None, dist.world_size)
        images, labels = images[share], labels[share]
    return images, labels, evaluated


_SAMPLED_IMAGES = 256


def data_record(data: DatasetSplits) -> dict:
    """What tells ``data`` from other data, cheaply: its name, classes and, per split, the
    number and shape of its images and a fingerprint of them."""
    return {"name": data.name, "classes": list(data.classes),
            "train": _split_record(data.train), "test": _split_record(data.test)}


def _sampled_pixels(part: ImageData) -> bytes:
    """Images spread evenly over the split: a subset, a reordering or other images
    change them, without hashing every pixel of a large set."""
    picked = torch.linspace(0, len(part) - 1, min(len(part), _SAMPLED_IMAGES)).round().long()
    return part.images[picked].cpu().numpy().tobytes()


def _split_record(part: ImageData) -> dict:
    digest = hashlib.sha256(part.labels.cpu().numpy().tobytes())  # every label
    digest.update(_sampled_pixels(part))
    return {"images": len(part), "shape": list(part.images.shape[1:]),
            "fingerprint": digest.hexdigest()[:16]}


def split_fingerprints(part: ImageData) -> dict:
    """What a checkpoint records of a split: its size and its labels in order (what a
    redrawn split changes), and its pixels apart (what another decoder, Pillow or
    libjpeg, may change for the same files), so each is told apart on resume."""
    return {"images": len(part),
            "labels": hashlib.sha256(part.labels.cpu().numpy().tobytes()).hexdigest()[:16],
            "pixels": hashlib.sha256(_sampled_pixels(part)).hexdigest()[:16]}


def write_data_record(run_dir: Path, data: DatasetSplits) -> None:
    atomic_write_text(run_dir / DATA_RECORD, json.dumps(data_record(data), indent=1))


def check_same_data(run_dir: Path, data: DatasetSplits, source: str, fix: str,
                    test_only: bool = False) -> None:
    """Refuse ``data`` unless it is the data the run recorded (data.json) it trained on;
    with ``test_only``, its test split alone. A run without the record (its data came
    from its spec, or it was made before the record) is not checked. ``source`` says
    where ``data`` came from, ``fix`` how to pass the same data."""
    path = run_dir / DATA_RECORD
    if not path.is_file():
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        parts = ("test",) if test_only else ("train", "test")
        now = data_record(data)
        if recorded["classes"] == now["classes"] and all(recorded[p] == now[p] for p in parts):
            return
        trained_on = _described(recorded)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: the record of the data {run_dir} trained on cannot be "
                        f"read ({exc}); a damaged or hand-edited file") from None
    same_sizes = all(recorded[p]["images"] == now[p]["images"] for p in parts)
    raise ConfigError(
        f"{run_dir} trained on data given to train() from Python, not on the data its "
        f"config names: {trained_on} ({path}). {source} is other data: "
        f"{_described(now, parts)}{' (as many images, but others)' if same_sizes else ''}. "
        f"{fix}")


def check_trained_on(checkpoint: Path, data: DatasetSplits, train_subset: int | None) -> None:
    """Refuse to resume from ``checkpoint`` on ``data`` unless it has the classes and the
    images (each split's) the run trained on, before the model is built for them."""
    from cnnlab.train import checkpoint as ckpt

    state = ckpt.read_state(checkpoint)
    _check_same_classes(checkpoint, state, data)
    _check_same_images(checkpoint, state, data, train_subset)


def _check_same_classes(checkpoint: Path, state: dict, data: DatasetSplits) -> None:
    """Refuse to resume on data whose classes are not those the run's checkpoint trained
    on: a class folder renamed, added or removed since (labels are indices into the sorted
    folder names) would have the run go on learning other labels, or fail later on the
    output layer's shape."""
    saved = state.get("classes")
    if not isinstance(saved, list) or same_names(data.classes, saved):  # Mac-encoded: same
        return
    if reencoded := reencoded_names_problem(data.classes, saved):
        raise DataError(f"{data.name} cannot resume {checkpoint.parent.parent}: {reencoded}")
    gone = [c for c in saved if c not in data.classes]
    new = [c for c in data.classes if c not in saved]
    what = "; ".join(f"{how}: {first_few(names)}"  # "a, b, c, d, e and 3 more"
                     for how, names in (("not there now", gone), ("new", new)) if names)
    raise DataError(
        f"{data.name} has other classes than {checkpoint.parent.parent} trained on "
        f"({what or 'the same names, in another order'}): resumed, it would learn other "
        "labels under the same outputs. Give it the data it trained on (put the class "
        "folders back as they were), or train a new run")


def _check_same_images(checkpoint: Path, state: dict, data: DatasetSplits,
                       train_subset: int | None) -> None:
    """Refuse to resume on a split other than the one the run's checkpoint trained and
    was tested on (its size and labels in order): a folder's test images are drawn from
    all of its images, so one image added or removed redraws the split, and, resumed,
    the run would train on images it had been tested on. Other pixels alone (another
    decoder, or files replaced) are warned of."""
    from cnnlab.notices import warn_user

    recorded = state.get("data")
    if not isinstance(recorded, dict):  # a checkpoint from before the record
        return
    now = {"train": split_fingerprints(training_subset(data, train_subset, warn=False).train),
           "test": split_fingerprints(data.test)}
    then = {split: recorded.get(split) if isinstance(recorded.get(split), dict) else {}
            for split in now}
    redrawn = [f"{split} split {then[split].get('images')} images then, "
               f"{now[split]['images']} now" + (" (other labels)" if then[split].get(
                   "images") == now[split]["images"] else "")
               for split in now if {k: then[split].get(k) for k in ("images", "labels")}
               != {k: now[split][k] for k in ("images", "labels")}]
    run = checkpoint.parent.parent
    if redrawn:
        raise DataError(
            f"{data.name} is not the data {run} trained on ({'; '.join(redrawn)}): a "
            "folder's test images are drawn from all its images, so, resumed, the run "
            "would train on images it was tested on. Give it the images it trained on (put "
            "the folder back as it was, or --data-root where a copy of it is), or train a "
            "new run")
    if any(then[split].get("pixels") != now[split]["pixels"] for split in now):
        warn_user(f"{data.name}'s images are not the pixels {run} trained on, though as "
                  "many, of the same classes in the same order: decoded by another Pillow "
                  "or libjpeg, or files replaced (a file renamed can move an image between "
                  "the splits); resumed as they are", DataWarning)


def warn_of_a_changed_test_split(checkpoint: Path, data: DatasetSplits) -> None:
    """Warn when the test split of a run's own data is not the one the run was scored on
    while training (its checkpoint's record of size and labels): a folder with images
    added or removed draws its split anew, so the accuracy does not repeat the run's,
    and images it trained on may be scored."""
    from cnnlab.notices import warn_user
    from cnnlab.train import checkpoint as ckpt

    state = ckpt.read_state(checkpoint)
    if isinstance(state.get("classes"), list) and state["classes"] != list(data.classes):
        return  # refused for that (evaluate_run): "other labels" would only mislead
    recorded = state.get("data")
    then = recorded.get("test") if isinstance(recorded, dict) else None
    if not isinstance(then, dict):
        return  # a checkpoint from before the record
    now = split_fingerprints(data.test)
    if (then.get("images"), then.get("labels")) == (now["images"], now["labels"]):
        return
    how = (f"{then.get('images')} images then, {now['images']} now"
           if then.get("images") != now["images"] else "as many images, other labels")
    warn_user(f"{data.name}'s test split is not the one {checkpoint.parent.parent} was "
              f"scored on while training ({how}): this accuracy does not repeat the run's, "
              "and images it trained on may be among those scored", DataWarning)


def _described(record: dict, parts: tuple[str, ...] = ("train", "test")) -> str:
    """"fashion-mnist, 60,000 training and 10,000 test images of 1x28x28, 10 classes";
    the splits in ``parts`` alone (a test split loaded alone has no training count)."""
    words = {"train": "training", "test": "test"}
    counts = " and ".join(f"{record[p]['images']:,} {words[p]}" for p in parts)
    return (f"{record['name']}, {counts} images of "
            f"{'x'.join(map(str, record['test']['shape']))}, {len(record['classes'])} classes")


def warn_of_colour_read_as_grey(cfg: TrainConfig) -> None:
    """A model taking one channel reads a folder of colour photos as greyscale: say so
    (classes told apart by their colour lose what tells them apart), unless greyscale
    was asked for (channels=1)."""
    from cnnlab.data import parse_spec
    from cnnlab.notices import warn_user

    if cfg.channels == 1:
        return
    root = Path(parse_spec(cfg.data)[1]).expanduser()
    example = _a_colour_image(root)
    if example is not None:  # named below root: its class folder says which one it is
        warn_user(f"{cfg.data} holds colour images ({example.relative_to(root).as_posix()}, "
                  "for one), and "
                  f"{cfg.model} takes one channel: they are read as greyscale. For colour, "
                  "pass --channels 3 (channels=3): the model is then built to take three",
                  DataWarning)


def _a_colour_image(root: str | Path, looked_at: int = 24) -> Path | None:
    """One of a few image files below ``root`` (two a folder, ``looked_at`` in all, the
    walk stopping there) in colour, or None: what a model taking one channel would lose
    by reading the folder as greyscale. Colour is a few percent of the pixels away from
    grey (a grey scan with a coloured mark, or JPEG noise, is not); unreadable files are
    passed over."""
    import os

    import numpy as np
    from PIL import Image

    from cnnlab.data.folder_files import is_data_folder, is_image_file
    from cnnlab.data.image_file import PIL_FORMATS

    seen = 0
    for here, dirs, names in os.walk(root, followlinks=True):  # the folder loader's files
        dirs[:] = sorted(d for d in dirs if is_data_folder(Path(here) / d))
        for path in [p for p in sorted(Path(here) / n for n in names)
                     if is_image_file(p, Path(root))][:2]:
            try:
                # The loader's formats only: PostScript named .png would go to PIL's EPS
                # plugin, which runs Ghostscript on it (image_file.PIL_FORMATS).
                with Image.open(path, formats=PIL_FORMATS) as image:
                    image.draft("RGB", (64, 64))  # a JPEG decodes at a fraction of its size
                    rgb = np.asarray(image.convert("RGB").resize((32, 32)), dtype=np.int16)
            except Exception:  # noqa: BLE001 - the loader names unreadable files itself
                continue
            if (np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max(axis=2) > 16).mean() > 0.02:
                return path
            seen += 1
            if seen >= looked_at:
                return None
    return None


def train_arguments(cfg, data) -> tuple[TrainConfig, DatasetSplits | None]:
    """train()'s first two arguments as it takes them, or a TypeError naming what it
    takes: a model's name or a data spec failed deep inside with an AttributeError."""
    if not isinstance(cfg, TrainConfig):
        shown = repr(cfg) if isinstance(cfg, str) else type(cfg).__name__
        raise TypeError(f"train() takes a TrainConfig, not {shown}: build one with "
                        "resolve_config(MODEL, preset='fast') (a preset's recipe) or "
                        "TrainConfig(model=MODEL, ...)")
    if isinstance(data, str):  # a spec, as evaluate_run takes one: the config's data
        return dataclasses.replace(cfg, data=data), None
    if data is not None and not isinstance(data, DatasetSplits):
        raise TypeError(f"data is {type(data).__name__}: give the splits load_dataset() "
                        "returns (or a subset of them), a spec such as 'fashion-mnist', or "
                        "None for what cfg.data names")
    return cfg, data
