"""--channels (channels=): a folder's images decoded as greyscale or RGB whatever the model
takes by default, the model built for them (a pretrained first conv adapted); before, a
folder was always decoded at the model's registered input, so a one-channel model could
not see colour and a grey folder could not reach an RGB model's summed first conv."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.models import get_model
from cnnlab.train import TrainConfig
from cnnlab.train.config import ConfigError

torch.set_num_threads(1)
runner = CliRunner()
ARGS = ["--epochs", "1", "--batch-size", "4", "--device", "cpu", "--quiet", "--preset",
        "none", "--threads", "1"]


def words(result) -> str:
    return " ".join(result.output.split())


def _folder(root: Path, mode: str) -> Path:
    for name, value in (("red", (200, 30, 30)), ("green", (30, 180, 40))):
        (root / name).mkdir(parents=True)
        for i in range(4):
            colour = value if mode == "RGB" else value[0] // 2 + 20 * i
            Image.new(mode, (20, 20), colour).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_a_one_channel_model_sees_a_folder_in_colour_with_channels_3(place):
    _folder(place / "colour", "RGB")
    train = ["train", "lenet_modern", "--data", "folder:colour", "--out-dir", "runs", *ARGS]
    grey = runner.invoke(app, [*train, "--run-name", "grey"])
    assert grey.exit_code == 0, grey.output
    assert "For colour, pass --channels 3 (channels=3)" in words(grey)  # the fix, named
    result = runner.invoke(app, [*train, "--channels", "3", "--run-name", "rgb"])
    assert result.exit_code == 0, result.output
    assert "colour" not in result.output  # as asked: nothing read as grey
    from cnnlab.train import load_run

    run = load_run(place / "runs" / "rgb")
    assert run.preprocess.channels == 3 and run.config.channels == 3
    evaluated = runner.invoke(app, ["eval", "runs/rgb", "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output  # decoded as it trained, in RGB


def test_a_grey_folder_reaches_an_rgb_pretrained_model_as_one_channel(place):
    # resnet18 takes RGB: its pretrained first conv is summed for grey input, which gives
    # the RGB filters' response to the grey image copied into each channel.
    _folder(place / "grey", "L")
    save_file(get_model("resnet18", num_classes=1000).state_dict(), place / "r18.safetensors")
    result = runner.invoke(app, ["train", "resnet18", "--data", "folder:grey", "--resize",
                                 "32", "--weights", "r18.safetensors", "--channels", "1",
                                 "--freeze-backbone", "--out-dir", "runs", "--run-name",
                                 "g", *ARGS])
    assert result.exit_code == 0, result.output
    assert "First conv's filters summed from 3 input channels to 1" in words(result)
    from cnnlab.train import load_run

    assert load_run(place / "runs" / "g").preprocess.channels == 1


def test_channels_other_than_1_or_3_are_refused_by_the_flag():
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic",
                                 "--channels", "2"])
    assert result.exit_code == 2
    assert "--channels 2: allowed: 1 (greyscale) or 3 (RGB), or leave --channels out" \
        in words(result)
    with pytest.raises(ConfigError, match=r"channels"):
        TrainConfig(channels=4).validate()


def test_channels_for_data_that_is_no_folder_is_said_to_have_no_effect(place):
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic", "--channels",
                                 "3", "--train-subset", "16", "--eval-subset", "8",
                                 "--out-dir", "runs", *ARGS])
    assert result.exit_code == 0, result.output
    assert "warning: channels=3 decodes a folder's images; synthetic has its own" \
        in words(result)


def test_eval_on_a_folder_decodes_it_as_the_runs_model_takes_it(tmp_path, monkeypatch):
    # A run given 3-channel data from Python, evaluated on a folder: the folder was
    # decoded at the model's registered channel (1), and a conv's RuntimeError ended it.
    import numpy as np

    from cnnlab.data import load_dataset
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import train
    from cnnlab.train.evaluate import evaluate_run

    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    data = make_synthetic(num_train=32, num_test=16, num_classes=2, channels=3)
    train(TrainConfig(model="lenet_modern", epochs=1, batch_size=16, device="cpu",
                      quiet=True, out_dir=str(tmp_path), run_name="rgb"), data=data,
          console=False)
    for name in data.classes:
        (tmp_path / "f" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((28, 28, 3), 40 * i, np.uint8)).save(
                tmp_path / "f" / name / f"{i}.png")
    scored = evaluate_run(tmp_path / "rgb", f"folder:{tmp_path / 'f'}", None, "best", "cpu",
                          None, None)
    assert scored.result.count == 2
    grey = load_dataset(f"folder:{tmp_path / 'f'}", image_size=28, channels=1)
    with pytest.raises(ValueError, match=r"images of 1 channel\(s\); the run's model takes 3: "
                       r"load them so \(load_dataset\(SPEC, channels=3\)"):
        evaluate_run(tmp_path / "rgb", grey, None, "best", "cpu", None, None)
