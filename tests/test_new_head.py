"""--new-head (new_head=True): a new classifier even where the weights' one fits the data's
class count (ImageNet weights fine-tuned on another 1000-class set, a head started over),
the rest of the weights loaded as they are."""

from __future__ import annotations

import html
import re

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.models import get_model
from cnnlab.models.transfer import renew_classifier
from cnnlab.train import TrainConfig
from cnnlab.train.model_setup import build_model, weights_loaded, weights_loaded_lines

torch.set_num_threads(1)


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(1)
    state = get_model("lenet_modern", num_classes=10).state_dict()
    path = tmp_path / "ten.safetensors"
    save_file(state, path)
    return path, state


def test_new_head_renews_a_classifier_whose_class_count_fits(weights):
    # The weights' classifier was kept whenever the class counts matched: no way to
    # start it over (only reset_classifier from Python).
    path, state = weights
    cfg = TrainConfig(model="lenet_modern", weights=str(path), new_head=True)
    model = build_model(cfg, num_classes=10, channels=1, image_size=28)
    head = model_head(model) + "."
    renewed = {k: v for k, v in model.state_dict().items() if k.startswith(head)}
    assert renewed and not any(torch.equal(v, state[k]) for k, v in renewed.items())
    rest = {k: v for k, v in model.state_dict().items() if not k.startswith(head)}
    assert rest and all(torch.equal(v, state[k]) for k, v in rest.items())
    record = weights_loaded(model)
    renewed = len(renewed)
    assert (record["new_head"], record["head_asked"]) == (True, True)
    assert (record["tensors_loaded"], record["tensors_left_out"]) == (
        len(state) - renewed, renewed)
    assert weights_loaded_lines(record)[0] == (
        f"weights: {path}, {len(state) - renewed} of its {len(state)} tensors loaded; "
        "a new classifier, as --new-head (new_head=True) asked (the weights' left out)")
    # Without it, the weights' classifier stays, as before.
    kept = build_model(TrainConfig(model="lenet_modern", weights=str(path)), 10, 1, 28)
    assert all(torch.equal(v, state[k]) for k, v in kept.state_dict().items())


def model_head(model) -> str:
    return next(n for n, m in model.named_modules() if m is model.get_classifier())


def test_a_classifier_renewed_for_another_class_count_is_left_as_loading_made_it(weights):
    path, _ = weights
    model = get_model("lenet_modern", num_classes=3, weights=path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    load = renew_classifier(model, 3, model.pretrained_load)
    assert load is model.pretrained_load and not load.head_asked
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_resumed_new_head_run_builds_without_weights(weights):
    # A resume drops the weights (its checkpoint has them): new_head has nothing to do.
    model = build_model(TrainConfig(model="lenet_modern", new_head=True), 10, 1, 28)
    assert weights_loaded(model) is None


def test_cnnlab_train_new_head(tmp_path, weights):
    path, _ = weights
    args = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
            "--epochs", "1", "--train-subset", "64", "--eval-subset", "32", "--preset",
            "none", "--out-dir", str(tmp_path), "--new-head"]
    result = CliRunner().invoke(app, [*args, "--weights", str(path), "--run-name", "a"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "a new classifier, as --new-head (new_head=True) asked" in said
    assert "new_head: true" in (tmp_path / "a" / "config.yaml").read_text(encoding="utf-8")
    alone = CliRunner().invoke(app, [*args, "--run-name", "b"])
    assert alone.exit_code == 0, alone.output
    assert ("warning: new_head has no effect without weights (--weights)"
            in " ".join(alone.output.split()))


def test_the_report_says_what_the_console_said_of_a_new_head(tmp_path, weights):
    # After --new-head, report.html's "starting weights" said "a new classifier (another
    # class count)" though the class counts matched; the console said why it was new.
    path, _ = weights
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
        "--epochs", "1", "--train-subset", "64", "--eval-subset", "32", "--preset", "none",
        "--out-dir", str(tmp_path), "--run-name", "r", "--new-head", "--weights", str(path),
        "--freeze-backbone"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines()
            if line.startswith(("weights: ", "Backbone frozen"))]
    assert len(said) == 2 and "as --new-head (new_head=True) asked" in said[0]
    page = html.unescape((tmp_path / "r" / "report.html").read_text(encoding="utf-8"))
    row = re.search(r"starting weights</th>\s*<td[^>]*>(.*?)</td>", page, re.S)
    assert row, "no starting weights row"
    assert row[1] == f"{said[0].removeprefix('weights: ')}; backbone frozen{said[1][15:]}"
    assert "another class count" not in page
