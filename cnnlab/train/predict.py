"""Using a finished run to classify image files, PIL images or pixels.
(Scoring a run on a test split is :func:`cnnlab.train.evaluate.evaluate_run`.)"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from cnnlab.data.augment import resize, to_float
from cnnlab.data.image_file import (
    centre_square,
    chw_array,
    fit_image,
    read_image,
    shrunk,
    to_mode,
)
from cnnlab.notices import SetupWarning, warn_user
from cnnlab.train.config import ConfigError
from cnnlab.train.evaluate import Preprocess, tta_logits, tta_views
from cnnlab.train.loaded_run import check_which, load_run
from cnnlab.train.outcome import run_folder
from cnnlab.train.run_files import RUN_FOLDER_HINT, NotARunError

if TYPE_CHECKING:
    from PIL import Image

    from cnnlab.onnx_run import OnnxRun
    from cnnlab.train.loaded_run import LoadedRun


def image_to_tensor(image, pp: Preprocess, invert: bool = False,
                    fit: bool = False) -> torch.Tensor:
    """An image as the model's input: 1 x C x S x S, normalised like training.

    ``image`` is an image file's path, a PIL image, or pixels as a dataset holds them: a
    tensor or array (C, H, W) or (H, W), uint8 0..255 or float 0..1 (``load_dataset``'s
    ``test.images[i]``). Files and PIL images are decoded as a folder dataset's images
    are (``cnnlab.data.image_file``: upright, deep greyscale and transparency handled,
    brought to the run's channels). ``fit``: then scaled to cover S x S and centre-
    cropped with PIL's bicubic filter, exactly as a folder decoded at S x S was (what
    ``cnnlab train --data folder:...`` does; :func:`predict_image` also follows a folder
    given to ``train()`` at another size); otherwise cut to its centre square and resized
    the way the training loader resizes (so a 28x28 image reaches a 96-pixel model
    exactly as Fashion-MNIST's did). Pixels are always cut and resized the loader's way.
    """
    return _model_input(_image_pixels(image, pp, fit), pp, invert)


def _image_pixels(image, pp: Preprocess, fit: bool, background: str = "white",
                  decoded: tuple[int, int] | None = None) -> torch.Tensor:
    """The image as a 1 x C x S x S batch of 0..255 pixels (uint8, or float from float
    pixels), cut and resized as :func:`image_to_tensor` says; transparency on
    ``background``. ``decoded``: the (height, width) a folder's images were decoded at
    for the run, when not S x S; fitted to that, then resized to S as the training
    loader resized them (where the height or the width differs from S, as it does)."""
    from PIL import Image

    size = pp.image_size
    if isinstance(image, torch.Tensor | np.ndarray):
        return resize(_pixels(image, pp.channels).unsqueeze(0), size)
    # A large picture is shrunk as it is read (a JPEG decoded at a fraction of its size),
    # to a few times the size it is resized to next: as a folder's images were decoded.
    at_least = (decoded or (size, size)) if fit else (size, size)
    picture = shrunk(to_mode(image, pp.channels, background), at_least, upright=True) \
        if isinstance(image, Image.Image) \
        else read_image(image, pp.channels, background, at_least=at_least)
    if fit:
        pixels = torch.from_numpy(fit_image(picture, decoded or (size, size))).unsqueeze(0)
        return resize(pixels, size) if tuple(pixels.shape[2:]) != (size, size) else pixels
    return resize(torch.from_numpy(chw_array(centre_square(picture))).unsqueeze(0), size)


def trained_on(run) -> tuple[str, tuple[int, int] | None]:
    """The data ``run`` trained on, and the (height, width) its images were when they
    were given to ``train()`` from Python (its data.json says; None otherwise). Its
    config.yaml names what ``cfg.data`` said, which data given so need not be: a folder
    loaded with ``load_dataset("folder:...", image_size=128)`` for a config still saying
    fashion-mnist, or decoded at 128 for a run that resized to 64. A run trained on what
    its config names decoded a folder at the model's size, which ``preprocess`` holds."""
    from cnnlab.train.run_files import DATA_RECORD

    run_dir = getattr(run, "run_dir", None)  # an .onnx file has none: its sidecar says
    if run_dir is None:
        return run.data, getattr(run, "decoded_size", None)
    path = Path(run_dir) / DATA_RECORD
    try:
        stat = path.stat()
    except OSError:  # none: the data came from the config
        return run.data, None
    # predict_image asks once per image: the file is read again only once it changes.
    recorded = _recorded_data(str(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns,
                              stat.st_size)
    return recorded or (run.data, None)


@functools.lru_cache(maxsize=16)
def _recorded_data(path: str, *identity: int) -> tuple[str, tuple[int, int]] | None:
    """The data name and the (height, width) of the images data.json at ``path`` records;
    None where it cannot be read. ``identity`` (device, inode, modification time, size)
    keys the cache, so a rewritten record is read anew."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        name, shape = record["name"], record["train"]["shape"]
        if isinstance(name, str) and len(shape) == 3 and all(
                type(n) is int and n > 0 for n in shape):
            return name, (shape[1], shape[2])
    except (TypeError, OSError, ValueError, KeyError):  # unreadable: `eval` and `resume`
        pass  # say so; predict goes by the config
    return None


def _model_input(pixels: torch.Tensor, pp: Preprocess, invert: bool) -> torch.Tensor:
    """0..255 pixels -> the model's input, scaled and normalised by the loader's own
    arithmetic (``to_float``: one multiply-add), so a test image comes out bit for bit
    as in the run's evaluation batches."""
    if invert:
        pixels = 255 - pixels
    return to_float(pixels, pp.mean, pp.std)


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
    if x.numel() == 0:
        raise ValueError(f"an empty image, shape {tuple(x.shape)}")
    if x.is_floating_point():
        if x.isnan().any():
            raise ValueError("the pixels hold NaN (not a number): no class can be read off them")
        if float(x.min()) < 0 or float(x.max()) > 1:
            raise ValueError(f"float pixels go from 0 to 1, these from {float(x.min()):g} to "
                             f"{float(x.max()):g} (uint8 pixels 0..255 are taken as they are)")
        x = x.float() * 255
    elif x.dtype != torch.uint8:
        raise ValueError(f"pixels of type {x.dtype}: give uint8 (0..255) or float (0..1)")
    side = min(x.shape[-2:])
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    return x[:, top:top + side, left:left + side]


def open_for_prediction(run_dir, which: str = "best", device: str = "cpu", threads=None):
    """A run directory's model (its ``which`` checkpoint, on ``device``) or an exported
    ``.onnx`` file (onnxruntime on the CPU, on ``threads`` threads or one per core), with
    its classes and preprocessing. check_which: a typo is refused for an .onnx file too."""
    check_which(which)
    path = run_folder(run_dir, "open_for_prediction")  # a TrainResult: its run_dir
    if path.is_file() and path.suffix != ".onnx":
        raise NotARunError(f"{path} is a file, not a run's folder or an .onnx file from "
                           f"`cnnlab export`: {RUN_FOLDER_HINT}")
    if path.suffix == ".onnx":
        from cnnlab.onnx_run import load_onnx  # a missing one said there

        return load_onnx(path, threads)  # its JSON sidecar: the classes, preprocessing
    return load_run(path, which=which, device=device)  # which checks the device


@torch.no_grad()
def predict_image(run: LoadedRun | OnnxRun | str | os.PathLike[str],
                  image: str | Path | Image.Image | torch.Tensor | np.ndarray,
                  top_k: int = 3, invert: bool = False,
                  tta: bool = True) -> list[tuple[str, float]]:
    """The ``top_k`` (class, probability) of one image for a run from ``load_run`` or
    ``open_for_prediction`` (or a run's folder or .onnx file, or the TrainResult
    ``train()`` returned, opened here: its best checkpoint, on the CPU; open it once for
    many images): an image file's path, a PIL image or pixels (:func:`image_to_tensor`
    says which), prepared as the run's training prepared its own. For a run on an image
    folder, a file or PIL image is decoded as the folder's images were (bicubic fit, the
    run's channels) at the size they were decoded at, then resized as the loader resized
    them: the model's size for ``cnnlab train``, the size given to ``load_dataset`` for
    data given to ``train()`` (its data.json). An exported .onnx file's sidecar records
    both (exports before 2026-12-06 do not: fitted at the model's size).

    With ``tta`` the logits are averaged over the test-time views the run evaluated with
    (``run.tta``), as its reported accuracy was; without, the image alone. ``invert``:
    grey levels inverted (255 - pixel) first, for a dark drawing on white.
    """
    check_top_k(top_k)
    run = _opened(run)
    return _ranked(run, prepared_input(run, image, invert), top_k, tta)[0]


def prepared_input(run, image, invert: bool = False) -> torch.Tensor:
    """``image`` as the opened ``run``'s model takes it (1 x C x S x S), prepared as
    :func:`predict_image` says; an image drawn dark on light for light-on-dark data is
    told of (once per :func:`light_backgrounds_told_once` block). Raises as
    :func:`cnnlab.data.image_file.read_image` for a file it cannot read."""
    pp = run.preprocess
    data, decoded = trained_on(run)
    light_on_dark = _light_on_dark_data(data)
    # A light cut-out garment's transparent surround is the black its training images
    # have (on white, a Fashion-MNIST model saw an image unlike any it learnt from); a
    # dark icon's is white, so it shows, and --invert makes it light on black.
    pixels = _image_pixels(image, pp, fit=data.startswith("folder:"),
                           background="contrast" if light_on_dark else "white",
                           decoded=decoded)
    if not invert and light_on_dark and _border_level(pixels) > 0.6:
        name = Path(image).name if isinstance(image, str | Path) else "the image"
        told = _light_backgrounds.get()
        if told is not None:  # within light_backgrounds_told_once: one warning at its end
            told.append(name)
        else:
            _tell_light_backgrounds([name], 1, data)
    return _model_input(pixels, pp, invert)


@torch.no_grad()
def _ranked(run, x: torch.Tensor, top_k: int, tta: bool) -> list[list[tuple[str, float]]]:
    """The ``top_k`` (class, probability) of each image of the batch ``x``."""
    views = tta_views(*run.tta) if tta else tta_views(False)
    device = _input_device(run.model)
    x = x.to(device)
    border = torch.tensor(run.preprocess.black_level(), device=device).view(1, -1, 1, 1)
    probs = tta_logits(run.model, x, views, border).softmax(dim=1)
    top = probs.topk(min(top_k, probs.shape[1]))
    return [[(run.classes[i], p) for p, i in zip(values, indices, strict=True)]
            for values, indices in zip(top.values.tolist(), top.indices.tolist(), strict=True)]


def _opened(run):
    """A run to predict with: one loaded already as it is; a run's folder or .onnx file
    (a path, or a TrainResult, which stands for its run_dir) opened. Anything else is a
    TypeError saying what to give (it was an AttributeError: no attribute 'data')."""
    if isinstance(run, str | os.PathLike):  # a folder was "'str' object has no attribute"
        return open_for_prediction(run)
    if all(hasattr(run, name) for name in ("model", "preprocess", "classes", "data", "tta")):
        return run
    raise TypeError(f"predict_image takes a run: load_run(...)'s or open_for_prediction"
                    f"(...)'s, a run's folder or .onnx file (str or Path), or the "
                    f"TrainResult train() returned; not {type(run).__name__}")


class LightBackgroundWarning(SetupWarning):
    """An image drawn dark on light, for a run whose data is light on black."""


_light_backgrounds: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "light_backgrounds", default=None)


@contextlib.contextmanager
def light_backgrounds_told_once(images: int, data: str):
    """Within the block, images with a light background are told of in one warning at its
    end, however it ends, however many there are (a folder of product photos gave a line
    each). No other warning is touched."""
    names: list[str] = []
    token = _light_backgrounds.set(names)
    try:
        yield
    finally:
        _light_backgrounds.reset(token)
        if names:
            _tell_light_backgrounds(names, images, data)


def _tell_light_backgrounds(names: list[str], images: int, data: str) -> None:
    """The one warning for the images ``names`` (of ``images``) drawn dark on light."""
    advice = (f"light background, and {data}'s images are light on black: if the classes "
              "look wrong, try --invert (from Python, invert=True)")
    if len(names) == 1:
        warn_user(f"{names[0]} has a {advice}", LightBackgroundWarning)
    else:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        warn_user(f"{len(names)} of {images} images ({shown}) have a {advice}",
                  LightBackgroundWarning)


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
    from cnnlab.data import DataWarning
    from cnnlab.data.folder_files import (
        IMAGE_EXTENSIONS,
        PassedOver,
        image_files_under,
        unlisted_words,
    )

    if isinstance(paths, str | Path):
        paths = [paths]
    files = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        passed_over = PassedOver()
        found = image_files_under(path, passed_over)
        undecoded = ""
        if passed_over.undecoded:  # a phone's HEIC photos were passed over unsaid
            kinds = " ".join(sorted({p.suffix.lower() for p in passed_over.undecoded}))
            undecoded = (f"{len(passed_over.undecoded)} picture(s) in a format cnnlab does "
                         f"not decode ({kinds}), e.g. {passed_over.undecoded[0]}: convert "
                         "them to PNG or JPEG")
        if not found:
            kinds = ", ".join(sorted(ext.lstrip(".") for ext in IMAGE_EXTENSIONS))
            raise FileNotFoundError(f"{path}: a folder with no image files below it "
                                    f"(looked for {kinds})"
                                    + (f"; it holds {undecoded}" if undecoded else ""))
        if undecoded:
            warn_user(f"{path}: not classified: {undecoded}", DataWarning)
        if passed_over.unlisted:  # as a folder dataset says it: they were left out unsaid
            warn_user(f"{path}: not classified: the images in "
                      + unlisted_words(path, passed_over.unlisted), DataWarning)
        files += found
    return files


def _light_on_dark_data(spec: str) -> bool:
    """Data whose images are drawn light on a black background (Fashion-MNIST)."""
    from cnnlab.data import parse_spec

    try:
        return parse_spec(spec)[0] == "fashion-mnist"
    except Exception:  # noqa: BLE001 - an older export's empty or unknown spec: no hint
        return False


def _border_level(pixels: torch.Tensor) -> float:
    """Mean grey level (0 black .. 1 white) of the image's one-pixel border: a photo of
    a garment on a light background reads near 1."""
    x = pixels.float()
    edge = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
    return float(edge.mean()) / 255


class Predictions(list[tuple[Path, list[tuple[str, float]]]]):
    """:func:`predict_images`'s answer: a list of its ``answers``, ``(path, top classes)``,
    and in ``skipped`` the ``(path, error)`` of each file left out as unreadable."""

    def __init__(self, answers=(), skipped=()):
        super().__init__(answers)
        self.skipped: list[tuple[Path, Exception]] = list(skipped)


class UnreadableImagesWarning(SetupWarning):
    """Files ``predict_images(..., errors="skip")`` left out: it names them and why."""


def predict_images(run_dir: str | os.PathLike[str],
                   paths: str | Path | Sequence[str | os.PathLike[str]],
                   top_k: int = 3, which: str = "best",
                   invert: bool = False, tta: bool = True, device: str = "cpu",
                   errors: Literal["raise", "skip"] = "raise") -> Predictions:
    """The ``top_k`` classes per image, from ``run_dir``: a run directory (or the
    TrainResult ``train()`` returned) or an exported ``.onnx`` file.

    ``paths``: image files, or folders (every image below them, see :func:`image_paths`).
    ``top_k`` above the number of classes shows them all; ``invert`` and ``tta`` as in
    :func:`predict_image`. ``which`` checkpoint ("best" or "last") on ``device``, for a
    run directory; an .onnx file runs on the CPU.

    ``errors``: what a file that cannot be read (missing, damaged, not an image) does.
    "raise" (the default): its FileNotFoundError or ValueError (``ImageFileError``,
    naming the file and why) is raised, and no answer is returned. "skip": it is left
    out of the answer, which lists the files left out, each with its error, in its
    ``skipped`` (``[(path, error), ...]``); one ``UnreadableImagesWarning`` names them.
    ``cnnlab predict`` skips them too, then exits 1.
    """
    if errors not in ("raise", "skip"):
        raise ConfigError(f'errors={errors!r}: "raise" (stop at a file that cannot be '
                          'read) or "skip" (leave it out, listed in the answer\'s skipped)')
    check_top_k(top_k)
    run_dir = run_folder(run_dir, "predict_images")  # before the files: the first argument
    files = image_paths(paths)
    run = open_for_prediction(run_dir, which, device)
    answers = Predictions()
    with light_backgrounds_told_once(len(files), run.data):
        for path, ranked, problem in classify_files(run, files, top_k, invert, tta):
            if problem is None:
                answers.append((path, ranked))
            elif errors == "skip":
                answers.skipped.append((path, problem))
            else:
                raise problem
    if answers.skipped:
        shown = "; ".join(str(error) for _, error in answers.skipped[:3])
        more = f"; and {len(answers.skipped) - 3} more" if len(answers.skipped) > 3 else ""
        warn_user(f"{len(answers.skipped)} of {len(files)} images could not be read and "
                  f"were skipped (listed in the answer's .skipped): {shown}{more}",
                  UnreadableImagesWarning)
    return answers


# Images per forward when classifying many: one at a time, a small network spent
# nearly all its time in per-call overhead (and, on a busy CPU, waiting on its threads):
# 20,000 28x28 files took 400 s, in batches 40 s.
PREDICT_BATCH = 64


def classify_files(run, files: Sequence[Path], top_k: int = 3, invert: bool = False,
                   tta: bool = True, batch_size: int = PREDICT_BATCH,
                   read: Callable[[], object] | None = None
                   ) -> Iterator[tuple[Path, list[tuple[str, float]], Exception | None]]:
    """``(path, top classes, None)`` for each of ``files``, in order, for an opened
    ``run``; ``(path, [], error)`` for one that cannot be read (FileNotFoundError or
    ValueError: it costs the others nothing). Each file is prepared as
    :func:`predict_image` prepares it; ``batch_size`` of them go through the model at
    once (each image's logits do not depend on the others' in eval mode, up to float
    rounding: a probability's 7th digit). ``read`` is called as each file has been read
    (or found unreadable), before its batch's answers come: a progress bar's step."""
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        inputs: list[torch.Tensor] = []
        problems: list[Exception | None] = []
        for path in chunk:
            try:
                inputs.append(prepared_input(run, path, invert))
                problems.append(None)
            except (FileNotFoundError, ValueError) as exc:
                problems.append(exc)
            if read is not None:
                read()
        ranked = iter(_ranked(run, torch.cat(inputs), top_k, tta) if inputs else [])
        for path, problem in zip(chunk, problems, strict=True):
            yield (path, [], problem) if problem is not None else (path, next(ranked), None)


def check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ConfigError(f"--top-k {top_k} (top_k={top_k}): show at least 1 class per image")
