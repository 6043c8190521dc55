"""predict_image on a run trained on an image folder prepares an image file exactly as the
run's own pipeline prepared that file: decoded as the folder was (fitted at the size it
was decoded at, in the run's channels), then resized as the loader resized it."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab import load_dataset
from cnnlab.cli import app
from cnnlab.data.augment import resize, to_float
from cnnlab.data.image_file import decode_image
from cnnlab.train import TrainConfig, load_run, predict_image, train


@pytest.fixture
def photos(data_env: Path) -> Path:
    """Two classes of noisy 30 x 45 colour photos: every resampling step shows."""
    rng = np.random.default_rng(0)
    root = data_env / "photos"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def as_the_run_saw_it(run, path: Path, decoded: tuple[int, int]) -> list[float]:
    """The run's probabilities for ``path`` fed as training fed it: decoded at
    ``decoded``, resized by the loader where it is not the model's square, normalised."""
    pp = run.preprocess
    pixels = torch.from_numpy(decode_image(path, decoded, pp.channels)).unsqueeze(0)
    if tuple(pixels.shape[2:]) != (pp.image_size, pp.image_size):
        pixels = resize(pixels, pp.image_size)
    with torch.no_grad():
        probs = run.model(to_float(pixels, pp.mean, pp.std)).softmax(dim=1)[0]
    return sorted(probs.tolist(), reverse=True)[:2]


def predicted(run, path: Path) -> list[float]:
    return [p for _, p in predict_image(run, path, top_k=2, tta=False)]


@pytest.mark.parametrize(("size", "config_data"), [
    (32, "folder"),  # decoded at 32 for a run that resized to 28: fitted at 28 straight
    (28, "fashion-mnist"),  # the config's data, not the folder given: not fitted at all
])
def test_a_folder_given_from_python_is_predicted_as_it_was_decoded(photos, data_env, size,
                                                                   config_data):
    data = load_dataset(f"folder:{photos}", image_size=size, progress=False)
    spec = f"folder:{photos}" if config_data == "folder" else config_data
    cfg = TrainConfig(model="lenet_modern", data=spec, epochs=1, batch_size=4, resize=28,
                      out_dir=str(data_env / "runs"), quiet=True, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = load_run(train(cfg, data=data, console=False).run_dir)
    image = photos / "cat" / "0.png"
    assert predicted(run, image) == pytest.approx(as_the_run_saw_it(run, image, (size, size)),
                                                  abs=1e-6)


def test_a_folder_trained_on_from_the_command_is_predicted_as_it_was_decoded(photos,
                                                                             data_env):
    # --channels 3 and --resize 32: the folder decoded at 32 in RGB for a model that
    # takes one channel at 28 by default.
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", f"folder:{photos}", "--channels", "3",
        "--resize", "32", "--epochs", "1", "--batch-size", "4", "--device", "cpu",
        "--quiet", "--preset", "none", "--threads", "1", "--out-dir",
        str(data_env / "runs"), "--run-name", "cli"])
    assert result.exit_code == 0, result.output
    run = load_run(data_env / "runs" / "cli")
    assert (run.preprocess.channels, run.preprocess.image_size) == (3, 32)
    image = photos / "dog" / "3.png"
    assert predicted(run, image) == pytest.approx(as_the_run_saw_it(run, image, (32, 32)),
                                                  abs=1e-6)


def test_an_export_of_a_run_on_data_given_from_python_is_predicted_as_it_was_decoded(
        photos, data_env):
    # Its sidecar recorded config.yaml's data (fashion-mnist here) and no decoded size:
    # the .onnx file prepared the image as a Fashion-MNIST one, unfitted.
    pytest.importorskip("onnxruntime")
    from cnnlab.export import export_run

    data = load_dataset(f"folder:{photos}", image_size=32, progress=False)
    cfg = TrainConfig(model="lenet_modern", data="fashion-mnist", epochs=1, batch_size=4,
                      resize=28, out_dir=str(data_env / "runs"), quiet=True, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_dir = train(cfg, data=data, console=False).run_dir
        exported = export_run(run_dir, format="onnx", out=data_env / "m.onnx").path
    image = photos / "cat" / "1.png"
    expected = as_the_run_saw_it(load_run(run_dir), image, (32, 32))
    assert predicted(exported, image) == pytest.approx(expected, abs=1e-5)


def test_a_folder_decoded_oblong_from_python_trains_and_is_predicted_as_it_was(photos,
                                                                              data_env):
    # Decoded at 28 x 40 without --resize: the loader resized only a height that differed,
    # so LeNet met 40-pixel-wide images and stopped on a size error.
    data = load_dataset(f"folder:{photos}", image_size=(28, 40), progress=False)
    cfg = TrainConfig(model="lenet_modern", data=f"folder:{photos}", epochs=1, batch_size=4,
                      out_dir=str(data_env / "runs"), quiet=True, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = load_run(train(cfg, data=data, console=False).run_dir)
    assert run.preprocess.image_size == 28
    image = photos / "dog" / "2.png"
    assert predicted(run, image) == pytest.approx(as_the_run_saw_it(run, image, (28, 40)),
                                                  abs=1e-6)
