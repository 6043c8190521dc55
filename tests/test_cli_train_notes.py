"""`cnnlab train` and `resume`'s notes and warnings before training: a book network
without its recipe, settings the run will not use, a 224-pixel network on 28-pixel
images, a busy CPU, fp16 on a CPU."""

import json

import pytest
from typer.testing import CliRunner

import cnnlab.cli.train as cli_train
from cnnlab.cli import app

runner = CliRunner()
TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
         "--batch-size", "64", "--log-every", "2"]


@pytest.fixture
def notes_only(monkeypatch):
    """`cnnlab train` and `resume` say their notes, and train nothing: the notes come
    before the run, which took most of these tests' time (a run under a faked load and a
    two-thread pool took 7 s on a busy CPU)."""
    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)


def test_a_book_network_without_a_preset_is_pointed_at_its_recipe(tmp_path, notes_only):
    args = ["train", "lenet_d2l", "--data", "synthetic", "--device", "cpu", "--quiet",
            "--epochs", "1", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "note: no --preset" in words
    assert "--preset fast is cnnlab's modern recipe, --preset book the book's (lr 0.1, " \
           "28x28, xavier init, 10 epochs)" in words
    result = runner.invoke(app, [*args, "--preset", "book"])
    assert result.exit_code == 0 and "note: no --preset" not in result.stderr


def test_every_network_without_a_preset_is_pointed_at_the_fast_one(tmp_path, notes_only):
    # No preset is SGD without momentum at a constant lr 0.1: lenet_modern's test accuracy
    # fell from 84.8% to 39.9% at its last epoch, and only book networks got a note.
    args = [*TRAIN, "--epochs", "1", "--max-time", "0.01", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "note: no --preset, so lenet_modern trains with the defaults and the flags given " \
           "(SGD without momentum, constant lr 0.1); --preset fast is cnnlab's modern " \
           "recipe" in words
    assert "--preset book" not in words  # the book does not train lenet_modern
    for chosen in (["--preset", "fast"], ["--preset", "none"]):  # a preset, or none, chosen
        result = runner.invoke(app, [*args, *chosen])
        assert result.exit_code == 0 and "note: no --preset" not in result.stderr


def test_settings_the_run_will_not_use_are_named(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("lookahead_alpha: 0.8\n")
    args = [*TRAIN, "--epochs", "1", "--out-dir", str(tmp_path / "runs")]
    result = runner.invoke(app, [*args, "--muon-lr", "0.05", "--optimizer", "nesterov",
                                 "--momentum", "0", "--config", str(config)])
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "muon_lr is used only by optimizer=muon; this run's optimizer is nesterov" in words
    assert "lookahead_alpha has no effect without lookahead_steps >= 1" in words
    assert "momentum 0 with optimizer=nesterov means 0.9" in words
    # The same values left at their defaults, or used, draw nothing.
    result = runner.invoke(app, [*args, "--optimizer", "muon", "--muon-lr", "0.05",
                                 "--lookahead-steps", "5", "--lookahead-alpha", "0.8"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    # A run's own config.yaml, reused, names every field: its defaults were not chosen.
    from cnnlab.train import TrainConfig

    TrainConfig(model="lenet_modern", data="synthetic", optimizer="nesterov").save(config)
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    # A hand-written file names what its writer chose, default values too.
    config.write_text("optimizer: nesterov\nmomentum: 0\n")
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert "momentum 0 with optimizer=nesterov means 0.9" in " ".join(result.stderr.split())


def test_a_224_pixel_network_on_28_pixel_images_is_pointed_at_a_small_one(tmp_path):
    args = ["train", "resnet18", "--data", "synthetic", "--device", "cpu", "--quiet",
            "--epochs", "2", "--batch-size", "8", "--max-time", "0.1", "--out-dir",
            str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "warning: resnet18 was designed for 224x224 inputs and sees 28x28 here" in words
    assert "Use resnet18_small" in words
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]  # once per run: not on resume
    spent = json.loads((run / "checkpoints" / "last.json").read_text())["train_time"]
    result = runner.invoke(app, ["resume", str(run), "--max-time", f"{spent + 0.05}"])
    assert result.exit_code == 0, result.output
    assert "designed for" not in result.stderr
    result = runner.invoke(app, ["train", "vgg11", "--data", "synthetic", "--device", "cpu",
                                 "--out-dir", str(tmp_path)])
    assert result.exit_code == 2  # an input too small: change the command
    assert "pass --resize 32 (resize=32 from Python) or more (224 is its design size)" in " ".join(
        result.output.split())
    assert "designed for" not in result.output  # refused: no advice contradicting it


def test_a_busy_cpu_suggests_one_thread(tmp_path, monkeypatch, notes_only):
    import os

    import torch

    if torch.get_num_threads() == 1:  # a pool of one is not told to use one (below); the
        torch.set_num_threads(2)  # pool is put back after each test (conftest)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # whatever machine runs the test
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    args = [*TRAIN, "--epochs", "1", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "this CPU is busy (load 9.0" in " ".join(result.stderr.split())
    assert "this CPU is busy" not in runner.invoke(app, [*args, "--threads", "1"]).stderr
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert "this CPU is busy" not in runner.invoke(app, args).stderr
    # resume too (it takes --threads as train does), of a run trained without --threads
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: lenet_modern\nthreads: null\ndevice: cpu\n",
                                     encoding="utf-8")
    result = runner.invoke(app, ["resume", str(run), "--epochs", "1"])
    assert result.exit_code == 0 and "this CPU is busy (load 9.0" in " ".join(
        result.stderr.split()), result.output


def test_a_busy_cpu_under_torchrun_is_not_told_to_use_one_thread(monkeypatch, capsys):
    # torchrun sets OMP_NUM_THREADS=1: each process's pool has one thread already, and
    # "--threads 1 is often steadier" was advice it already followed.
    import os

    import torch

    from cnnlab.cli.hints import hint_at_a_busy_cpu

    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")  # rank 0 of a torchrun launch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        hint_at_a_busy_cpu(None, "cpu")
    finally:
        torch.set_num_threads(threads)
    assert "this CPU is busy" not in capsys.readouterr().err


def test_fp16_on_a_cpu_is_said_to_be_slow(tmp_path, monkeypatch):
    # Accepted in silence, and 4-5x slower than full precision (1,440 vs 6,660 images/s).
    import cnnlab.cli.train as cli_train

    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)  # the note, not the run
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)
    args = [*TRAIN, "--epochs", "1", "--out-dir", str(tmp_path)]
    said = " ".join(runner.invoke(app, [*args, "--amp", "fp16"]).stderr.split())
    assert "note: --amp fp16 on a CPU trains many times slower than full precision" in said
    assert "fp16" not in runner.invoke(app, [*args, "--amp", "off"]).stderr


def test_label_smoothing_in_the_train_loss_is_said_once_before_the_run(capsys):
    # --preset fast printed "train loss 0.7933 ... test loss 0.4372" with no word that the
    # train loss is smoothed and the test loss is not: students read it as a bug.
    from cnnlab.cli.train_notes import note_what_the_train_loss_holds
    from cnnlab.train.presets import resolve_config

    note_what_the_train_loss_holds(resolve_config("lenet_modern", preset="fast"))
    words = " ".join(capsys.readouterr().err.split())
    assert words.count("note:") == 1
    assert ("note: the train loss includes label smoothing 0.1; the test loss is plain "
            "cross-entropy") in words
    for quiet_or_plain in (resolve_config("lenet_modern", preset="fast",
                                          overrides={"quiet": True}),
                           resolve_config("lenet_d2l", preset="book"),
                           resolve_config("lenet_modern")):
        note_what_the_train_loss_holds(quiet_or_plain)
        assert "label smoothing" not in capsys.readouterr().err


def test_cnnlab_train_says_the_label_smoothing_note(tmp_path, monkeypatch):
    from cnnlab.cli import train as cli_train

    monkeypatch.setattr(cli_train, "_guarded", lambda fn: None)  # the note, not the run
    monkeypatch.setattr(cli_train, "_print_result", lambda result: None)
    args = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--preset",
            "fast", "--epochs", "1", "--out-dir", str(tmp_path)]
    said = " ".join(runner.invoke(app, args).stderr.split())
    assert said.count("the train loss includes label smoothing 0.1") == 1
    assert "label smoothing" not in runner.invoke(app, [*args, "--quiet"]).stderr
