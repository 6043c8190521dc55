"""A run started from weights says, as it starts, what loading them did: where they came
from, how many of their tensors it loaded, whether the classifier is new (for how many
classes, the weights' being for how many), the first conv's channels adapted, and what
--freeze-backbone froze. The record is the one summary.json and the report keep."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from safetensors.torch import save_file
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import get_model
from cnnlab.models.pretrained import classifier_name
from cnnlab.train import TrainConfig, train
from cnnlab.train.model_setup import weights_loaded_lines

torch.set_num_threads(1)


@pytest.fixture
def ten_class_weights(tmp_path):
    """lenet_modern's weights for 10 classes, and how many tensors they hold."""
    state = get_model("lenet_modern", num_classes=10).state_dict()
    path = tmp_path / "ten.safetensors"
    save_file(state, path)
    return path, len(state)


def _said(tmp_path, weights, classes: int, **settings) -> list[str]:
    out = io.StringIO()
    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=32, device="cpu",
                      quiet=True, out_dir=str(tmp_path), weights=str(weights), **settings)
    train(cfg, data=make_synthetic(num_train=64, num_test=32, num_classes=classes),
          console=Console(file=out, width=200, soft_wrap=True), write_run_dir=False)
    return [line for line in out.getvalue().splitlines() if not line.startswith("epoch")]


def test_a_run_says_which_tensors_it_loaded_and_that_its_classifier_is_new(
        tmp_path, ten_class_weights):
    # It said nothing: the one trace was the path in report.html's configuration table.
    path, tensors = ten_class_weights
    assert _said(tmp_path, path, classes=2) == [
        f"weights: {path}, {tensors - 2} of its {tensors} tensors loaded; a new classifier "
        "for 2 classes (the weights' was for 10: left out)"]


def test_a_run_says_its_classifier_was_kept_and_what_froze(tmp_path, ten_class_weights):
    path, tensors = ten_class_weights
    model = get_model("lenet_modern", num_classes=10)
    head = sum(p.numel() for p in model.get_classifier().parameters())
    everything = sum(p.numel() for p in model.parameters())
    assert _said(tmp_path, path, classes=10, freeze_backbone=True) == [
        f"weights: {path}, all {tensors} tensors loaded; its classifier kept (the class "
        "counts match; --new-head, new_head=True, renews it)",
        f"Backbone frozen: {everything - head:,} values; the classifier's {head:,} train"]


def test_nothing_is_said_without_weights_or_with_console_false(tmp_path, ten_class_weights,
                                                               capsys):
    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=32, device="cpu",
                      quiet=True, out_dir=str(tmp_path), weights=str(ten_class_weights[0]))
    train(cfg, data=make_synthetic(num_train=64, num_test=32, num_classes=2),
          console=False, write_run_dir=False)
    assert "weights:" not in capsys.readouterr().err
    assert weights_loaded_lines(None) == []


def test_the_first_convs_channels_are_said():
    record = {"source": "r18.pth", "new_head": True, "input_channels": [3, 1],
              "classes": [1000, 3], "tensors_loaded": 120, "tensors_left_out": 2,
              "frozen_values": 0, "trained_values": 11_170_000}
    assert weights_loaded_lines(record)[1] == ("First conv's filters summed from 3 input "
                                               "channels to 1")
    record["input_channels"] = [3, 4]
    assert weights_loaded_lines(record)[1] == ("First conv's filters adapted from 3 input "
                                               "channels to 4")
    # A record from before the counts (a checkpoint of an earlier cnnlab, resumed).
    assert weights_loaded_lines({"source": "r18.pth", "new_head": False,
                                 "input_channels": None}) == [
        "weights: r18.pth; its classifier kept (the class counts match; --new-head, "
        "new_head=True, renews it)"]


def test_cnnlab_train_says_it_on_the_console(tmp_path, ten_class_weights):
    path, tensors = ten_class_weights
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
        "--epochs", "1", "--train-subset", "64", "--eval-subset", "32", "--preset", "none",
        "--weights", str(path), "--out-dir", str(tmp_path), "--run-name", "r"])
    assert result.exit_code == 0, result.output
    assert (f"weights: {path}, all {tensors} tensors loaded; its classifier kept"
            in " ".join(result.output.split()))


def test_weights_without_a_classifier_are_said_to_have_none(tmp_path):
    # A backbone export (no classifier tensors) said "all 28 tensors loaded; a new
    # classifier (the weights' has another shape: left out)": nothing was left out.
    model = get_model("lenet_modern", num_classes=10)
    head = classifier_name(model) + "."
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(head)}
    path = tmp_path / "backbone.safetensors"
    save_file(state, path)
    said = _said(tmp_path, path, classes=2)
    assert said == [f"weights: {path}, all {len(state)} tensors loaded; the weights have "
                    "no classifier: the model's own, new"]
