"""Reading a finished run back (load_run): the checkpoint choice is best or last, and
anything else is refused by eval, predict and export alike."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import ConfigError, load_run

runner = CliRunner()


@pytest.fixture
def run_dir(tiny_run):
    return tiny_run


def test_best_and_last_load_their_own_checkpoint(run_dir):
    for which in ("best", "last"):
        assert load_run(run_dir, which=which).checkpoint.name == f"{which}.safetensors"


def test_best_and_last_give_their_own_weights(run_dir, tmp_path):
    # In a one-epoch run best and last hold the same weights, so loading the wrong file
    # went unnoticed: here best's are made different first.
    import shutil

    import torch

    from cnnlab.train import checkpoint as ckpt

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    best = run / "checkpoints" / "best.safetensors"
    groups, state = ckpt.load_checkpoint(best)
    ckpt.save_checkpoint(best, {k: v * 2 if v.is_floating_point() else v
                                for k, v in groups["model"].items()}, state)
    for which in ("best", "last"):
        groups, _ = ckpt.load_checkpoint(run / "checkpoints" / f"{which}.safetensors")
        saved = groups["eval"] or groups["ema"] or groups["model"]  # what evaluation uses
        loaded = load_run(run, which=which).model.state_dict()
        assert all(torch.equal(loaded[k], v) for k, v in saved.items()), which
    assert not torch.equal(load_run(run, which="best").model.state_dict()["classifier.6.weight"],
                           load_run(run, which="last").model.state_dict()["classifier.6.weight"])


def test_unknown_checkpoint_choice_is_refused(run_dir):
    with pytest.raises(ConfigError, match="'nosuch' .*choose best or last"):
        load_run(run_dir, which="nosuch")


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
def test_every_command_refuses_an_unknown_checkpoint_choice(run_dir, tmp_path, command):
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(image)
    args = {"eval": ["eval", str(run_dir), "--device", "cpu"],
            "predict": ["predict", str(run_dir), str(image)],
            "export": ["export", str(run_dir), "--out", str(tmp_path / "m.onnx")]}[command]
    result = runner.invoke(app, [*args, "--which", "nosuch"])
    assert result.exit_code == 2, result.output
    assert "choose best or last" in result.output


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
def test_a_checkpoint_copied_from_another_run_is_named(run_dir, tmp_path, command):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    config = other / "config.yaml"
    config.write_text(config.read_text().replace("model: lenet_modern", "model: lenet_d2l"))
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(image)
    args = {"eval": ["eval", str(other), "--device", "cpu"],
            "predict": ["predict", str(other), str(image)],
            "export": ["export", str(other), "--out", str(tmp_path / "m.onnx")]}[command]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    # The edited config.yaml is named as a cause, and how to set it back.
    assert ("best.safetensors was saved from 'lenet_modern', but config.yaml says "
            "'lenet_d2l': config.yaml was edited (set model: back to lenet_modern)") in words


def test_eval_on_data_with_other_classes_is_refused(run_dir, tmp_path, monkeypatch):
    # Ten classes like the run's, but not its: the scores would be reported under the
    # run's class names.
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    for i in range(10):
        (tmp_path / "digits" / f"digit{i}").mkdir(parents=True)
        for j in range(2):
            Image.fromarray(np.full((28, 28), 20 * i + j, dtype=np.uint8)).save(
                tmp_path / "digits" / f"digit{i}" / f"{j}.png")
    result = runner.invoke(app, ["eval", str(run_dir), "--device", "cpu",
                                 "--data", f"folder:{tmp_path / 'digits'}"])
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert "has the classes [digit0, digit1" in words and "trained on [class0, class1" in words
    assert "digit4 and 5 more]" in words


def test_a_run_without_a_best_checkpoint_says_it_uses_last(run_dir, tmp_path):
    import shutil

    early = tmp_path / "early"
    shutil.copytree(run_dir, early)
    (early / "checkpoints" / "best.safetensors").unlink()
    result = runner.invoke(app, ["eval", str(early), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.stderr and "no best checkpoint yet" in result.stderr
    assert "CheckpointWarning" not in result.stderr


def test_eval_reads_fashion_mnists_test_split_alone(tmp_path, tiny_fashion):
    # A damaged training file must not stop an evaluation, which needs only t10k.
    from cnnlab.data import fashion_mnist as fm
    from cnnlab.train import TrainConfig, train

    root = tiny_fashion(tmp_path / "fashion", n_train=40, n_test=20).directory
    cfg = TrainConfig(model="lenet_modern", data="fashion-mnist", data_root=str(root),
                      epochs=1, batch_size=16, device="cpu", quiet=True,
                      out_dir=str(tmp_path / "runs"), run_name="f")
    train(cfg)
    (root / "train-images-idx3-ubyte.gz").write_bytes(b"damaged")
    with pytest.raises(fm.IdxFormatError, match="train-images"):
        fm.load(root)  # training would be stopped, and told how to mend it
    only_test = fm.load(root, test_only=True)
    assert len(only_test.train) == 0 and len(only_test.test) == 20
    result = runner.invoke(app, ["eval", str(tmp_path / "runs" / "f"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "on 20 images" in " ".join(result.output.split())


def test_loading_a_run_draws_no_weights_its_checkpoint_replaces(tiny_run):
    # Built on the meta device and allocated: a VGG's weights took seconds to draw.
    import torch

    before = torch.random.get_rng_state()
    run = load_run(tiny_run)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(p.device.type == "cpu" and torch.isfinite(p).all() for p in run.model.parameters())
