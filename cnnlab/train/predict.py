"""Using a finished run: evaluate it on a dataset, classify image files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.augment import resize
from cnnlab.data.image_file import centre_square, chw_array, fit_image, read_image, to_mode
from cnnlab.data.loader import DeviceLoader
from cnnlab.train import run as training_runs  # by module: tests patch its loader
from cnnlab.train.config import ConfigError
from cnnlab.train.device import select_device
from cnnlab.train.evaluate import (
    EvalResult,
    Preprocess,
    check_tta_shift,
    evaluate,
    tta_logits,
    tta_views,
)
from cnnlab.train.loaded_run import check_which, load_run
from cnnlab.train.run_files import NotARunError, check_run_data, move_data


@dataclass
class RunEvaluation:
    """A run's model scored on a test split, and which of its checkpoints it was."""

    result: EvalResult
    classes: list[str]
    views: tuple[bool, int]  # (flip, shift): the test-time views averaged
    checkpoint: Path
    epoch: int | None  # epochs trained when that checkpoint was written ...
    step_in_epoch: int  # ... and steps into the next
    epochs: int  # the run's plan

    def when(self) -> str:
        """How far the run had trained when the checkpoint was written, in words."""
        return checkpoint_when(self.epoch, self.step_in_epoch, self.epochs)


def checkpoint_when(epoch: int | None, step_in_epoch: int, epochs: int) -> str:
    """How far a run had trained when a checkpoint was written, in words ("after epoch 7
    of 10", "at step 40 of epoch 3 of 10")."""
    if epoch is None:  # a checkpoint from before cnnlab recorded it
        return "when is not recorded"
    if step_in_epoch:
        return f"at step {step_in_epoch} of epoch {epoch + 1} of {epochs}"
    return f"after epoch {epoch} of {epochs}"


def evaluate_run(run_dir, data: str | None = None, data_root: str | None = None,
                 which: str = "best", device: str = "auto", tta_flip: bool | None = None,
                 tta_shift: int | None = None) -> RunEvaluation:
    """A run's model on the test split of its data (or of ``data``): the result, the
    class names, the (flip, shift) test-time views used and the checkpoint scored
    (``which``, or ``last`` where a run has no ``best`` yet). ``tta_flip`` and
    ``tta_shift`` default to the run's own, so the accuracy is the one it reported.
    ``data_root`` alone: where the run's data is now, as for ``resume`` (for a
    ``folder:PATH`` run, the folder's new place); the run's config.yaml is not changed."""
    dev = select_device(device)
    run = load_run(run_dir, which=which, device=str(dev))
    cfg = run.config
    tta_flip = cfg.tta_flip if tta_flip is None else tta_flip
    tta_shift = cfg.tta_shift if tta_shift is None else tta_shift
    if data:
        cfg.data, cfg.data_root = data, data_root
    elif data_root:
        cfg = move_data(cfg, data_root)  # read from there, this once
    else:
        check_run_data(cfg, run.run_dir)  # its folder moved: name --data-root
    splits = training_runs.load_training_data(cfg, test_only=True)
    if not data:  # its own data: the data train() was given, if it was
        training_runs.check_evaluated_data(run.run_dir, splits)
    if list(splits.classes) != list(run.classes):
        # Same count is not enough: scores for another dataset's classes, reported under
        # the run's names, would be meaningless.
        raise ValueError(
            f"{cfg.data} has the classes {_listed(splits.classes)}, but the run was trained "
            f"on {_listed(run.classes)}; evaluate it on data with the same classes, in "
            "the same order"
        )
    pp = run.preprocess
    check_tta_shift(tta_shift, pp.image_size)
    test = splits.test
    loader = DeviceLoader(
        test.images, test.labels, 512, device=dev, shuffle=False,
        resize=pp.image_size if pp.image_size != test.images.shape[2] else None,
        mean=pp.mean, std=pp.std, channels_last=pp.channels_last,
    )
    result = evaluate(run.model, loader, len(run.classes), dev, tta_flip=tta_flip,
                      tta_shift=tta_shift, fill=pp.black_level())
    return RunEvaluation(result, run.classes, (tta_flip, tta_shift), run.checkpoint,
                         run.epoch, run.step_in_epoch, cfg.epochs)


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most]) + (f", ... ({len(names)} in all)" if len(names) > most else "")
    return f"[{shown}]"


def image_to_tensor(image, pp: Preprocess, invert: bool = False,
                    fit: bool = False) -> torch.Tensor:
    """An image as the model's input: 1 x C x S x S, normalised like training.

    ``image`` is an image file's path, a PIL image, or pixels as a dataset holds them: a
    tensor or array (C, H, W) or (H, W), uint8 0..255 or float 0..1 (``load_dataset``'s
    ``test.images[i]``). Files and PIL images are decoded as a folder dataset's images
    are (``cnnlab.data.image_file``: upright, deep greyscale and transparency handled,
    brought to the run's channels). ``fit``: then scaled to cover S x S and centre-
    cropped with PIL's bicubic filter, exactly as a folder dataset was decoded for the
    run; otherwise cut to its centre square and resized the way the training loader
    resizes (so a 28x28 image reaches a 96-pixel model exactly as Fashion-MNIST's did).
    Pixels are always cut and resized the loader's way.
    """
    from PIL import Image

    size = pp.image_size
    if isinstance(image, torch.Tensor | np.ndarray):
        x = resize(_pixels(image, pp.channels).unsqueeze(0), size)
    else:
        picture = to_mode(image, pp.channels) if isinstance(image, Image.Image) else \
            read_image(image, pp.channels)
        if fit:
            x = torch.from_numpy(fit_image(picture, (size, size))).unsqueeze(0)
        else:
            x = resize(torch.from_numpy(chw_array(centre_square(picture))).unsqueeze(0), size)
    x = x.float().div(255)
    if invert:
        x = 1.0 - x
    if pp.mean is not None:
        mean = torch.tensor(pp.mean).view(1, -1, 1, 1)
        std = torch.tensor(pp.std).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x


def _pixels(image, channels: int) -> torch.Tensor:
    """One image's pixels as (C, H, W): uint8 as given, float scaled to 0..255, cut to
    their centre square. Anything else is a ValueError that says what to give."""
    # A copy of an array: PIL's np.asarray views are read-only, which torch warns about.
    x = torch.from_numpy(np.array(image)) if isinstance(image, np.ndarray) else \
        image.detach().cpu()
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() != 3:
        batch = " (a batch: give one image at a time, e.g. images[0])" if x.dim() == 4 else ""
        raise ValueError(f"an image's pixels as (C, H, W) or (H, W), not shape "
                         f"{tuple(x.shape)}{batch}")
    if x.shape[0] != channels:
        last = " (channels last? use .permute(2, 0, 1))" if x.shape[-1] == channels else ""
        raise ValueError(f"the image has {x.shape[0]} channels, shape {tuple(x.shape)}; the "
                         f"run's model takes {channels}{last}")
    if x.is_floating_point():
        if x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
            raise ValueError(f"float pixels go from 0 to 1, these from {float(x.min()):g} to "
                             f"{float(x.max()):g} (uint8 pixels 0..255 are taken as they are)")
        x = x.float() * 255
    elif x.dtype != torch.uint8:
        raise ValueError(f"pixels of type {x.dtype}: give uint8 (0..255) or float (0..1)")
    side = min(x.shape[-2:])
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    return x[:, top:top + side, left:left + side]


def open_for_prediction(run_dir, which: str = "best", device: str = "cpu"):
    """A run directory's model (its ``which`` checkpoint, on ``device``) or an exported
    ``.onnx`` file (run by onnxruntime on the CPU), with its classes and preprocessing."""
    check_which(which)  # an .onnx file has no checkpoints, but a typo is still refused
    path = Path(run_dir)
    if path.suffix == ".onnx" and not path.exists():
        raise NotARunError(f"ONNX file not found: {path}")
    if path.is_file() and path.suffix != ".onnx":
        raise NotARunError(f"{path} is a file, not a run's folder or an .onnx file from "
                           "`cnnlab export`: give a run's folder (the `run:` line `cnnlab "
                           "train` printed, e.g. runs/<time>-<model>)")
    if path.suffix == ".onnx":
        from cnnlab.onnx_run import load_onnx

        return load_onnx(run_dir)  # its JSON sidecar holds the classes and preprocessing
    return load_run(run_dir, which=which, device=str(select_device(device)))


@torch.no_grad()
def predict_image(run, image, top_k: int = 3, invert: bool = False,
                  tta: bool = True) -> list[tuple[str, float]]:
    """Top-k (class, probability) of one image for a run from ``load_run`` or
    ``open_for_prediction``: an image file's path, a PIL image or pixels
    (:func:`image_to_tensor` says which), prepared as the run's training prepared its own.

    With ``tta`` the logits are averaged over the test-time views the run evaluated with
    (``run.tta``), as its reported accuracy was; without, the image alone.
    """
    pp = run.preprocess
    x = image_to_tensor(image, pp, invert, fit=run.data.startswith("folder:"))
    if not invert and _light_on_dark_data(run.data) and _border_level(x, pp) > 0.6:
        import warnings

        from cnnlab.notices import SetupWarning

        name = Path(image).name if isinstance(image, str | Path) else "the image"
        warnings.warn(f"{name} has a light background, and {run.data}'s images are "
                      "light on black: if the classes look wrong, try --invert",
                      SetupWarning, stacklevel=2)
    views = tta_views(*run.tta) if tta else tta_views(False)
    device = _input_device(run.model)
    x = x.to(device)
    border = torch.tensor(pp.black_level(), device=device).view(1, -1, 1, 1)
    probs = tta_logits(run.model, x, views, border).softmax(dim=1)[0]
    top = probs.topk(min(top_k, probs.numel()))
    return [(run.classes[i], float(p)) for p, i in zip(top.values, top.indices, strict=True)]


def _input_device(model) -> torch.device:
    """Where ``model`` takes its input: its weights' device (an ONNX model, the CPU)."""
    if isinstance(model, torch.nn.Module):
        for weight in model.parameters():
            return weight.device
    return torch.device("cpu")


def image_paths(paths) -> list[Path]:
    """The image files ``paths`` name: a file as given, a folder as every image file
    below it (sorted). A folder with none is a FileNotFoundError naming it. One path
    alone (not in a list) is taken as one, not as the characters of its name."""
    from cnnlab.data.folder import IMAGE_EXTENSIONS, image_files_under

    if isinstance(paths, str | Path):
        paths = [paths]
    files = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        found = image_files_under(path)
        if not found:
            kinds = ", ".join(sorted(ext.lstrip(".") for ext in IMAGE_EXTENSIONS))
            raise FileNotFoundError(f"{path}: a folder with no image files below it "
                                    f"(looked for {kinds})")
        files += found
    return files


def _light_on_dark_data(spec: str) -> bool:
    """Data whose images are drawn light on a black background (Fashion-MNIST)."""
    from cnnlab.data import parse_spec

    try:
        return parse_spec(spec)[0] == "fashion-mnist"
    except Exception:  # noqa: BLE001 - an older export's empty or unknown spec: no hint
        return False


def _border_level(x: torch.Tensor, pp: Preprocess) -> float:
    """Mean grey level (0 black .. 1 white) of the image's one-pixel border, before the
    run's normalisation: a photo of a garment on a light background reads near 1."""
    if pp.mean is not None:
        x = x * torch.tensor(pp.std).view(1, -1, 1, 1) + torch.tensor(pp.mean).view(1, -1, 1, 1)
    edge = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
    return float(edge.mean())


def predict_images(run_dir, paths: str | Path | list, top_k: int = 3, which: str = "best",
                   invert: bool = False, tta: bool = True, device: str = "cpu"
                   ) -> list[tuple[Path, list[tuple[str, float]]]]:
    """Top-k classes per image, from a run directory or an exported ``.onnx`` file.

    ``paths``: image files, or folders (every image below them, see :func:`image_paths`).
    ``top_k`` above the number of classes shows them all; ``tta`` as in
    :func:`predict_image`.
    """
    check_top_k(top_k)
    files = image_paths(paths)
    run = open_for_prediction(run_dir, which, device)
    return [(path, predict_image(run, path, top_k, invert, tta)) for path in files]


def check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ConfigError(f"--top-k {top_k}: show at least 1 class per image")
