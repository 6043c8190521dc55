"""`cnnlab train / resume / eval / predict` end to end on synthetic data."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train.runlog import MetricsLog

runner = CliRunner()
TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--batch-size", "64", "--log-every", "2"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = runner.invoke(app, [*TRAIN, "--epochs", "2", "--out-dir", str(out),
                                 "--run-name", "demo", "--preset", "fast"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "report.html" in result.output
    return out / "demo"


def test_eval_prints_accuracy_and_per_class(trained_run):
    result = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "class9" in result.output
    # Which checkpoint it scored, and how far the run had trained when it was written.
    first, second = (r["test_acc"] for r in MetricsLog.read(trained_run / "metrics.csv"))
    said = ("checkpoint best, after epoch 2 of 2)" if second > first else
            "checkpoint best, after epoch 1 of 2; picked as the epoch that scored highest")
    assert said in " ".join(result.output.split()), result.output
    last = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu", "--which", "last"])
    assert "checkpoint last, after epoch 2 of 2)" in last.output, last.output
    # The same weights, views and preprocessing (this run normalises its inputs) as the
    # training's own evaluation: the same accuracy, exactly.
    from cnnlab.train.evaluate import evaluate_run

    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["config"]["normalize"]
    scored = evaluate_run(trained_run, None, None, "best", "cpu", None, None)
    assert scored.result.acc == summary["best_test_acc"]
    # A notebook shows the result, not a dataclass with the whole confusion matrix in it:
    # in one line, or as the headline and a row per true class of where its images went.
    assert repr(scored).startswith(f"RunEvaluation(acc={scored.result.acc:.4f}, ")
    assert len(repr(scored)) < 300 and "confusion" not in repr(scored)
    page = scored._repr_html_()
    assert scored.headline() in page and page.count("<tr>") == 1 + len(scored.classes)
    counts = scored.result.confusion[0]
    assert f'<td style="text-align:right">{counts[0]:,}</td>' in page


def test_eval_under_torchrun_is_refused_with_the_command_to_run(trained_run, monkeypatch):
    # Each torchrun process evaluated the whole test split and printed it: the same
    # table once per process, for the time of one.
    monkeypatch.setenv("WORLD_SIZE", "2")  # rank 0 of two
    result = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu"])
    assert result.exit_code == 2
    words = " ".join(result.stderr.split())
    assert "eval runs in one process" in words
    assert f"Run it without torchrun: cnnlab eval {trained_run}" in words


def test_eval_with_shifted_views_and_a_shift_too_large(trained_run):
    plain = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu", "--tta-flip"])
    shifted = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu", "--tta-flip",
                                  "--tta-shift", "1"])
    assert shifted.exit_code == 0, shifted.output
    loss = [line for line in shifted.output.splitlines() if line.startswith("test loss")]
    assert loss and loss != [line for line in plain.output.splitlines()
                             if line.startswith("test loss")]  # the views changed the logits
    too_far = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu",
                                  "--tta-shift", "28"])
    assert too_far.exit_code != 0 and "28-pixel input" in too_far.output


def test_predict_any_size_and_mode(trained_run, tmp_path):
    rgb = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 70, 3), np.uint8)).save(rgb)
    grey = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(grey)
    result = runner.invoke(app, ["predict", str(trained_run), str(rgb), str(grey),
                                 "--top-k", "2"])
    assert result.exit_code == 0, result.output
    assert "big.jpg" in result.output and "small.png" in result.output
    assert result.output.count("%") == 4  # two classes for each of two images


def test_predict_unreadable_image_names_the_file(trained_run, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    result = runner.invoke(app, ["predict", str(trained_run), str(bad)])
    assert result.exit_code == 1
    assert "broken.png" in result.output and "not a readable image" in result.output


def test_unknown_model_suggests_names():
    result = runner.invoke(app, ["train", "lenet_modrn", "--data", "synthetic"])
    assert result.exit_code == 2
    assert "lenet_modern" in result.output


def test_invalid_config_value_names_the_field(tmp_path):
    result = runner.invoke(app, [*TRAIN, "--optimizer", "adam", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "optimizer" in result.output and "nesterov" in result.output


def test_scratch_ops_takes_the_words_its_help_gives(tmp_path):
    result = runner.invoke(app, [*TRAIN, "--scratch-ops", "yes", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2 and "choose on, fft or off" in result.output
    assert not any(tmp_path.iterdir())
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert "on, fft (FFT convolution) or off" in result.output


def test_an_out_dir_it_may_not_write_in_is_named_without_a_traceback(tmp_path, monkeypatch):
    # Root ignores permissions, so the refusal is the operating system's, simulated.
    from pathlib import Path

    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.parent == tmp_path / "ro":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(tmp_path / "ro"), "--run-name", "r"])
    assert result.exit_code == 2, result.output
    assert f"cannot create the run folder {tmp_path / 'ro' / 'r'}: permission denied; " \
           "choose another --out-dir" in " ".join(result.output.split())
    assert not isinstance(result.exception, PermissionError)


def test_an_out_dir_that_is_a_file_and_one_class_data_fail_before_a_run_folder(
        tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))  # not ~/.cache/cnnlab
    afile = tmp_path / "afile"
    afile.write_text("")
    result = runner.invoke(app, [*TRAIN, "--out-dir", str(afile / "runs")])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    root = tmp_path / "one"
    (root / "only").mkdir(parents=True)
    for i in range(4):
        Image.new("L", (8, 8), 40 * i).save(root / "only" / f"{i}.png")
    out = tmp_path / "runs"
    result = runner.invoke(app, [*TRAIN, "--data", f"folder:{root}", "--out-dir", str(out)])
    assert result.exit_code == 2 and "at least two" in result.output, result.output
    # Once, with the fix (a warning with it, then an error without it, before):
    assert "add a folder of images for each other class" in " ".join(result.output.split())
    assert "warning:" not in result.output
    assert not out.exists() or not any(out.iterdir())  # no run folder left behind


def test_weights_of_another_model_list_the_keys(trained_run, tmp_path):
    weights = trained_run / "checkpoints" / "best.safetensors"
    result = runner.invoke(app, ["train", "lenet_d2l", "--data", "synthetic", "--quiet",
                                 "--weights", str(weights), "--out-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "do not fit lenet_d2l" in result.output and "key(s)" in result.output


@pytest.mark.parametrize("content", [b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{",
                                     b"PK\x03\x04 a zip"])
def test_a_damaged_safetensors_weights_file_is_one_error_line(tmp_path, content):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(content)
    result = runner.invoke(app, ["train", "lenet_d2l", "--data", "synthetic", "--quiet",
                                 "--weights", str(weights), "--out-dir", str(tmp_path / "r")])
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit, result.output
    assert "w.safetensors: not a readable .safetensors file" in " ".join(result.output.split())


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    from cnnlab.data import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    def offline(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(fashion_mnist, "_open_url", offline)
    result = runner.invoke(app, ["train", "lenet_modern", "--quiet", "--out-dir",
                                 str(tmp_path)])
    assert result.exit_code == 1
    assert "cnnlab data download" in result.output or "apt-get" in result.output


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_and_resume_finishes(tmp_path):
    cmd = [sys.executable, "-m", "cnnlab", *TRAIN, "--epochs", "400", "--out-dir",
           str(tmp_path), "--run-name", "long"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = tmp_path / "long" / "checkpoints" / "last.safetensors"
    try:
        deadline = time.time() + 120
        while not last.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert last.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint"
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:  # a failed assertion must not leave a 400-epoch run training on CI's cores
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "cnnlab resume" in stderr
    from cnnlab.train import checkpoint as ckpt

    _, state = ckpt.load_checkpoint(last)
    assert state["epoch"] >= 1
    # Finish the run quickly: shorten it, then resume.
    cfg_path = tmp_path / "long" / "config.yaml"
    shorter = cfg_path.read_text().replace("epochs: 400", f"epochs: {state['epoch'] + 1}")
    cfg_path.write_text(shorter)
    result = runner.invoke(app, ["resume", str(tmp_path / "long")])
    assert result.exit_code == 0, result.output


def test_an_accuracy_measured_on_part_of_the_test_split_says_which_part(tmp_path):
    out = tmp_path / "runs"
    result = runner.invoke(app, [*TRAIN, "--epochs", "1", "--eval-subset", "40", "--out-dir",
                                 str(out), "--run-name", "sub"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "test accuracy (first 40 of " in words
    summary = json.loads((out / "sub" / "summary.json").read_text())
    assert summary["eval_scope"].startswith("first 40 of ")
    assert "best test accuracy (first 40 of" in (out / "sub" / "report.html").read_text()
    result = runner.invoke(app, ["eval", str(out / "sub"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "the run itself measured its accuracy on its first 40 test images" in words
    assert "(cnnlab eval --eval-subset 40) repeats them" in words
    assert "itself" not in result.stdout  # a warning: on stderr
    # From the CLI it could not: `eval --eval-subset 40` scores what the run scored.
    from cnnlab.train import evaluate_run

    scored = evaluate_run(out / "sub", device="cpu", eval_subset=40)
    assert scored.result.count == 40 and scored.result.acc == summary["best_test_acc"]
    result = runner.invoke(app, ["eval", str(out / "sub"), "--device", "cpu",
                                 "--eval-subset", "40"])
    assert result.exit_code == 0 and "note:" not in result.output, result.output
    assert f"{100 * summary['best_test_acc']:.2f}%" in result.output


def test_eval_of_a_few_images_says_which_and_na_for_a_class_not_among_them(trained_run):
    # Ten classes, two images: eight read 0.00%, as if each of their images was missed.
    result = runner.invoke(app, ["eval", str(trained_run), "--device", "cpu",
                                 "--eval-subset", "2"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "on the first 2 of" in words
    assert words.count("n/a (no test images)") >= 8


def test_eval_of_a_run_without_any_checkpoint_says_why(trained_run, tmp_path):
    import shutil

    young = tmp_path / "young"
    young.mkdir()
    shutil.copy(trained_run / "config.yaml", young / "config.yaml")
    result = runner.invoke(app, ["eval", str(young)])
    assert result.exit_code == 1
    words = " ".join(result.output.split())
    assert "has no checkpoint yet: the first is written at the end of its first epoch" in words
    # The command that starts it again, from the settings it kept (was "start it again").
    assert f"cnnlab train --config {young / 'config.yaml'}" in words
    result = runner.invoke(app, ["resume", str(young)])
    assert result.exit_code == 1
    assert f"cnnlab train --config {young / 'config.yaml'}" in " ".join(result.output.split())


def test_train_help_gives_each_settings_default():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    words = " ".join(result.output.split())
    assert "Peak learning rate. (default: 0.1)" in words
    assert "Number of epochs. (default: 10)" in words
    assert "Random horizontal flips. (default: off)" in words
    # None or False in words where the value alone would not say what happens, and no
    # option that states its default twice.
    assert "bf16/fp16). (default: on for CUDA, off elsewhere)" in words  # channels_last
    assert "or off. (default: off)" in words  # scratch_ops, in the flag's own word
    assert "(default runs/). (default" not in words
    from dataclasses import fields

    from cnnlab.cli.train import _DEFAULT_IN_WORDS
    from cnnlab.train import TrainConfig

    assert set(_DEFAULT_IN_WORDS) <= {f.name for f in fields(TrainConfig)}


def test_version():
    from cnnlab import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"cnnlab {__version__}"


def test_a_light_background_on_a_fashion_mnist_model_suggests_invert(trained_run, tmp_path):
    from cnnlab.train.predict import open_for_prediction, predict_image

    white = np.full((40, 40), 250, np.uint8)
    white[10:30, 10:30] = 30  # a dark garment on white paper
    Image.fromarray(white).save(tmp_path / "paper.png")
    black = 255 - white
    Image.fromarray(black).save(tmp_path / "dark.png")
    run = open_for_prediction(trained_run)
    run.config.data = "fashion-mnist"  # as if trained on it (the fixture's is synthetic)
    with pytest.warns(UserWarning, match=r"paper.png has a light background.*try --invert"):
        predict_image(run, tmp_path / "paper.png")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict_image(run, tmp_path / "dark.png")
        predict_image(run, tmp_path / "paper.png", invert=True)


def test_predict_normalises_as_the_run_trained(trained_run, tmp_path):
    import torch

    from cnnlab.train.predict import open_for_prediction, predict_image

    pixels = np.random.default_rng(1).integers(0, 255, (28, 28), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    run = open_for_prediction(trained_run)
    pp = run.preprocess
    assert pp.mean is not None  # the fast preset normalises
    x = (torch.from_numpy(pixels).float().div(255).view(1, 1, 28, 28) - pp.mean[0]) / pp.std[0]
    with torch.no_grad():
        expected = run.model(x).softmax(dim=1)[0]
    [(name, prob)] = predict_image(run, tmp_path / "x.png", top_k=1, tta=False)
    assert name == run.classes[int(expected.argmax())]
    assert prob == pytest.approx(float(expected.max()), abs=1e-6)


def test_an_input_size_too_large_to_build_the_model_is_named_not_a_traceback(
        tmp_path, monkeypatch):
    # --resize 100000: a book network's probe image asked the allocator for 37 GiB, and the
    # allocator's RuntimeError came out as a traceback. Simulated: on a large machine the
    # real allocation could succeed.
    import cnnlab.train.model_setup as model_setup

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: not "
                           "enough memory: you tried to allocate 40000000000 bytes.")

    monkeypatch.setattr(model_setup, "get_model", out_of_memory)
    result = runner.invoke(app, [*TRAIN, "--resize", "100000", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "at 100000x100000 does not fit in memory even to build (one tensor alone needs " \
           "37.3 GiB); give a smaller --resize" in said
    assert not any(tmp_path.iterdir())  # no run folder left behind


@pytest.mark.parametrize("command", [["eval"], ["resume"], ["predict", "x.png"]])
def test_a_run_folder_that_does_not_exist_is_named_as_missing(tmp_path, command):
    # It was called "not a cnnlab run directory (no config.yaml)", as if it existed.
    missing = tmp_path / "runs" / "20261205-lenet"
    args = [command[0], str(missing), *command[1:]]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output  # a path of the wrong kind
    assert f"{missing} does not exist" in " ".join(result.output.split())


@pytest.mark.parametrize("command", [["train"], ["resume"], ["eval"], ["bench", "loader"],
                                     ["bench", "zoo"], ["data", "locate"]])
def test_data_root_is_shown_as_a_path_by_every_command(command):
    # train, eval and the benches showed <str>, `cnnlab data` <path>, for one thing; now
    # each says DIR (cli.help_layout._placeholder).
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.output.splitlines() if "--data-root" in x]
    assert "--data-root DIR" in line, line


@pytest.mark.parametrize("args, said", [
    (["--max-time", "-1"], "--max-time -1: allowed: seconds > 0"),
    (["--threads", "0"], "--threads 0: allowed: a whole number >= 1, or leave --threads out"),
])
def test_a_bad_flag_value_is_named_by_its_flag(args, said, tmp_path):
    # It read "invalid value for max_time: -1.0" and "..., or None": the config's words.
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic",
                                 "--out-dir", str(tmp_path), *args])
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


def test_a_bad_value_from_a_config_file_keeps_the_files_name_for_it(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("max_time: -1\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "synthetic",
                                 "--config", str(config), "--out-dir", str(tmp_path)])
    assert result.exit_code == 2 and "invalid value for max_time" in result.output
