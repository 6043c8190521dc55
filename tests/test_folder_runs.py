"""A run's data and its run folder given as paths: stored absolute, found again after
a move (--data-root), and a path of the wrong kind refused as an invalid request."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train import TrainConfig, resolve_config, resume, train

runner = CliRunner()


def words(result) -> str:
    return " ".join(result.output.split())


def image_folder(root: Path) -> Path:
    """Two classes of six 28x28 greyscale images: a dark one, a light one."""
    for label, base in (("dark", 0), ("light", 120)):
        (root / label).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (28, 28), base + 20 * i).save(root / label / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained_folder_run(tmp_path_factory) -> Path:
    """A folder holding ``photos`` and ``runs/f``: one epoch on ``photos``, trained with
    `cnnlab train` from that folder as the working directory, the folder given relatively;
    and a copy of it as trained (``pristine``). Trained once a module (and xdist worker):
    each of the ten tests that start from it had trained it alike (7-10 s in a busy
    suite), where copying it back takes milliseconds."""
    base = tmp_path_factory.mktemp("folder_run")
    home = base / "home"
    image_folder(home / "photos")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        patch.setenv("CNNLAB_CACHE", str(base / "cache"))
        result = runner.invoke(app, ["train", "lenet_modern", "--data", "folder:photos",
                                     "--epochs", "1", "--batch-size", "4", "--device", "cpu",
                                     "--quiet", "--out-dir", "runs", "--run-name", "f"])
    assert result.exit_code == 0, result.output
    shutil.copytree(home, base / "pristine")
    return home


@pytest.fixture
def folder_run(trained_folder_run: Path, data_env: Path, monkeypatch) -> tuple[Path, Path]:
    """(run, its data folder) as trained_folder_run trained them, put back in the place
    they were trained in (their config names it), each test's changes undone; data_env is
    the working directory."""
    home = trained_folder_run
    shutil.rmtree(home)
    shutil.copytree(home.parent / "pristine", home)  # mtimes too, as training left them
    monkeypatch.chdir(data_env)
    return home / "runs" / "f", home / "photos"


def test_a_relative_folder_is_stored_absolute_and_found_from_anywhere(folder_run, data_env,
                                                                       monkeypatch):
    # It was stored as `folder:photos`: eval from another folder said "no such directory".
    run, photos = folder_run
    assert TrainConfig.load(run / "config.yaml").data == f"folder:{photos}"
    assert json.loads((run / "summary.json").read_text())["config"]["data"] == \
        f"folder:{photos}"
    elsewhere = data_env / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output


def test_data_paths_are_made_absolute_and_home_expanded(data_env, monkeypatch):
    monkeypatch.chdir(data_env)
    monkeypatch.setenv("HOME", str(data_env / "home"))
    cfg = resolve_config("lenet_modern", overrides={"data": "folder:~/photos"})
    assert cfg.data == f"folder:{data_env / 'home' / 'photos'}"
    cfg = resolve_config("lenet_modern", overrides={"data_root": "fm"})
    assert cfg.data == "fashion-mnist" and cfg.data_root == str(data_env / "fm")


def test_a_weights_file_is_stored_absolute_and_a_weights_name_as_it_is(data_env, monkeypatch):
    # A run's config.yaml trained again from another folder (`cnnlab train --config
    # runs/x/config.yaml`) looked for its relative --weights file there: not found.
    monkeypatch.chdir(data_env)
    (data_env / "resnet18.pth").write_bytes(b"")
    cfg = resolve_config("tv:resnet18", overrides={"weights": "resnet18.pth"})
    assert cfg.weights == str(data_env / "resnet18.pth")
    cfg = resolve_config("tv:resnet18", overrides={"weights": "IMAGENET1K_V1"})
    assert cfg.weights == "IMAGENET1K_V1"  # torchvision's name for its release, no file


def test_a_relative_data_root_is_stored_absolute(data_env, tiny_fashion, monkeypatch):
    tiny_fashion(data_env / "fm", n_train=20, n_test=10)
    monkeypatch.chdir(data_env)
    cfg = TrainConfig(model="lenet_modern", data_root="fm", epochs=1, batch_size=10,
                      device="cpu", quiet=True, out_dir="runs", run_name="r")
    train(cfg)  # the API too, not only the command line's resolve_config
    assert cfg.data_root == "fm"  # the caller's config is left as it was
    assert TrainConfig.load(data_env / "runs" / "r" / "config.yaml").data_root == \
        str(data_env / "fm")


def test_a_relative_data_root_given_to_resume_is_stored_absolute(folder_run, data_env):
    run, photos = folder_run
    photos.rename(data_env / "moved")
    resume(run, extra_epochs=1, data_root="moved")  # relative to data_env, the cwd
    assert TrainConfig.load(run / "config.yaml").data == f"folder:{data_env / 'moved'}"


def test_eval_takes_the_folders_new_place_as_resume_does(folder_run, data_env):
    # eval --data-root was refused ("a data root applies to fashion-mnist only") for a
    # folder run while resume --data-root took it.
    run, photos = folder_run
    moved = photos.rename(data_env / "moved")
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu", "--data-root",
                                 str(moved)])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    # Read from there this once: the run's config keeps its own record.
    assert TrainConfig.load(run / "config.yaml").data == f"folder:{photos}"


@pytest.mark.parametrize("command", [["eval", "--device", "cpu"], ["resume", "--epochs", "1"]])
def test_a_run_whose_folder_moved_names_the_fix(folder_run, data_env, command):
    run, photos = folder_run
    photos.rename(data_env / "moved")
    result = runner.invoke(app, [command[0], str(run), *command[1:]])
    assert result.exit_code == 1, result.output  # the data is missing: not a bad request
    said = words(result)
    assert f"{photos}: the folder of images the run {run} trained on is not there" in said
    assert "Give its new place with --data-root NEWPATH" in said


def test_an_old_runs_relative_folder_is_named_as_relative(folder_run, data_env, monkeypatch):
    run, photos = folder_run
    config = run / "config.yaml"  # as runs wrote it before paths were made absolute
    config.write_text(config.read_text().replace(f"folder:{photos}",
                                                 "folder:photos"))
    monkeypatch.chdir(run)
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert f"(a relative path, looked for under the working directory {run})" in words(result)
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu", "--data-root",
                                 str(photos)])
    assert result.exit_code == 0, result.output


# ------------------------------------------------ a path given as a run, of the wrong kind


@pytest.fixture
def paths(tiny_run, tmp_path) -> dict[str, Path]:
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(tiny_run, runs / "20260101-lenet")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "trials.sqlite").write_bytes(b"")
    grid = tmp_path / "grid.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(grid)
    young = tmp_path / "young"  # a run stopped before its first checkpoint
    young.mkdir()
    shutil.copy(tiny_run / "config.yaml", young / "config.yaml")
    return {"runs": runs, "sweep": sweep, "grid": grid, "young": young,
            "missing": runs / "nope", "image": grid}


@pytest.mark.parametrize("args, said", [
    (["eval", "grid"], "grid.png is a file, not a run's folder"),
    (["eval", "runs"], "runs is not a cnnlab run directory (no config.yaml); it holds 1 run "
                       "folder: give one of them, e.g."),
    (["predict", "sweep", "image"], "sweep is not a cnnlab run directory (no config.yaml); "
                                    "it holds a design sweep (trials.sqlite)"),
    (["predict", "grid", "image"], "grid.png is a file, not a run's folder or an .onnx file"),
    (["resume", "missing"], "nope does not exist: give a run's folder"),
    (["resume", "runs"], "runs is not a cnnlab run directory (no config.yaml)"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_path_of_the_wrong_kind_given_as_a_run_is_an_invalid_request(paths, args, said):
    # They exited 1, as if a valid request had failed on missing data.
    result = runner.invoke(app, [args[0], *(str(paths[a]) for a in args[1:])])
    assert result.exit_code == 2, result.output
    assert said in words(result) and "Traceback" not in result.output


def test_a_missing_onnx_file_is_an_invalid_request_too(paths, tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path / "m.onnx"), str(paths["image"])])
    assert result.exit_code == 2 and "ONNX file not found" in result.output, result.output


def test_a_run_without_a_checkpoint_is_still_work_that_could_not_be_done(paths):
    # A run, but one that cannot be resumed yet: exit 1, as eval of it says.
    result = runner.invoke(app, ["resume", str(paths["young"])])
    assert result.exit_code == 1, result.output
    assert "has no checkpoints/last.safetensors" in words(result)


def test_not_a_run_is_still_a_file_not_found_error_for_callers(paths):
    from cnnlab.train import ConfigError, load_run

    for path in (paths["missing"], paths["runs"], paths["grid"]):
        with pytest.raises(FileNotFoundError):
            load_run(path)
        with pytest.raises(ConfigError):
            resume(path)


def test_colour_photos_read_as_grey_for_a_one_channel_model_are_said_to_be(data_env,
                                                                          monkeypatch):
    # lenet_modern trained on red/green/blue photos, decoded as grey, without a word.
    monkeypatch.chdir(data_env)
    for name, colour in (("red", (200, 30, 30)), ("green", (30, 180, 40))):
        (data_env / "colour" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (20 + i, 24), colour).save(data_env / "colour" / name / f"{i}.png")
    args = ["train", "lenet_modern", "--epochs", "1", "--batch-size", "4", "--device", "cpu",
            "--quiet", "--out-dir", "runs"]
    result = runner.invoke(app, [*args, "--data", "folder:colour", "--run-name", "c"])
    assert result.exit_code == 0, result.output
    assert "folder:" in words(result) and "holds colour images (green/0.png, for one), and " \
        "lenet_modern takes one channel: they are read as greyscale" in words(result)
    result = runner.invoke(app, ["eval", "runs/c"])  # told when training, not each eval
    assert result.exit_code == 0 and "colour" not in result.output, result.output
    image_folder(data_env / "grey")  # greyscale, and grey saved as RGB, say nothing
    Image.new("L", (28, 28), 90).convert("RGB").save(data_env / "grey" / "dark" / "rgb.png")
    result = runner.invoke(app, [*args, "--data", "folder:grey"])
    assert result.exit_code == 0 and "colour" not in result.output, result.output


@pytest.mark.parametrize("change", ["rename", "add"])
def test_resume_refuses_a_folder_whose_classes_changed(folder_run, data_env, change):
    # Labels are indices into the sorted class folders: renamed, a class's images would
    # be trained as another's (silently); added, the output layer no longer fits.
    run, photos = folder_run
    if change == "rename":
        (photos / "dark").rename(photos / "zz_dark")  # now [light, zz_dark]: labels swap
    else:
        image_folder(data_env / "extra")
        (data_env / "extra" / "dark").rename(photos / "blue")
    before = (run / "checkpoints" / "last.safetensors").read_bytes()
    result = runner.invoke(app, ["resume", str(run), "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    said = words(result)
    assert f"folder:{photos} has other classes than {run} trained on" in said
    assert ("not there now: dark; new: zz_dark" if change == "rename" else "new: blue") in said
    assert (run / "checkpoints" / "last.safetensors").read_bytes() == before


def test_resume_refuses_a_folder_with_images_added_and_eval_warns(folder_run):
    # One image more redraws the held-out split: resumed, the run had trained on images
    # it was tested on, and said nothing (3 of 8 test images moved, in the review).
    run, photos = folder_run
    Image.new("L", (28, 28), 250).save(photos / "light" / "extra.png")
    for i in range(6):  # one image may leave the 2 test images as they were: six more
        Image.new("L", (28, 28), 10 * i).save(photos / "dark" / f"more{i}.png")
    before = (run / "checkpoints" / "last.safetensors").read_bytes()
    result = runner.invoke(app, ["resume", str(run), "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    said = words(result)
    assert f"folder:{photos} is not the data {run} trained on" in said, said
    assert "would train on images it was tested on" in said
    assert (run / "checkpoints" / "last.safetensors").read_bytes() == before
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "test split is not the one" in words(result) and "images it trained on" in words(result)
    for added in [photos / "light" / "extra.png", *photos.glob("dark/more*.png")]:
        added.unlink()  # put back: resumed, and evaluated, quietly
    result = runner.invoke(app, ["eval", str(run), "--device", "cpu"])
    assert result.exit_code == 0 and "test split is not" not in words(result), result.output
    result = runner.invoke(app, ["resume", str(run), "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output


def test_class_names_are_shown_as_written_not_read_as_markup(data_env, monkeypatch):
    # `cnnlab eval` showed a class folder named "[red]x" as a red "x".
    image_folder(data_env / "marked")
    (data_env / "marked" / "dark").rename(data_env / "marked" / "[red]dark")
    monkeypatch.chdir(data_env)
    result = runner.invoke(app, ["train", "lenet_modern", "--data", "folder:marked",
                                 "--epochs", "1", "--batch-size", "4", "--device", "cpu",
                                 "--quiet", "--out-dir", "runs", "--run-name", "m"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["eval", "runs/m", "--device", "cpu"])
    assert result.exit_code == 0 and "[red]dark" in result.output, result.output


def test_a_torchrun_variable_that_is_no_number_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "two")
    for args in (["train", "lenet_modern", "--data", "synthetic", "--epochs", "1",
                  "--device", "cpu"], ["eval", str(tmp_path)]):
        result = runner.invoke(app, args)
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit), args
        assert "WORLD_SIZE='two' is not a whole number" in words(result), result.output


def test_a_rank_without_a_torchrun_world_is_one_process(monkeypatch, tmp_path):
    # Some job launchers export RANK: read as torchrun's, a plain run had lost its
    # warnings, written nothing as "rank 1", and waited 5 s before each error.
    from cnnlab.cli import messages
    from cnnlab.train.distributed import launched_as_main

    monkeypatch.setenv("RANK", "1")
    assert messages.launched_rank() == 0 and launched_as_main()
    paused = []
    monkeypatch.setattr(messages.time, "sleep", paused.append)
    result = runner.invoke(app, ["eval", str(tmp_path / "none")])
    assert result.exit_code == 2 and not paused and "rank 1" not in result.output


def test_resume_on_the_same_split_with_other_pixels_warns_and_goes_on(folder_run):
    # Another Pillow or libjpeg decodes the same files a little differently: the split is
    # the same (as many images, the labels in order), so the run resumes, and says so.
    run, photos = folder_run
    Image.new("L", (28, 28), 7).save(photos / "dark" / "0.png")  # its pixels alone change
    result = runner.invoke(app, ["resume", str(run), "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "images are not the pixels" in words(result) and "resumed as they are" in words(
        result)
