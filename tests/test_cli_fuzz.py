"""Edge values given to the commands' options (huge numbers, empty text) are refused with
exit status 2 and one line naming the option, before anything is built or written.

Each of these failed otherwise: a traceback from deep in torch (--resize, a padded stem
of 10**12 channels), "error: Overflow when unpacking long" with exit 1 (--threads), or
a silent run of something else than asked (--weights '' trained from random weights,
--preset '' with no preset, --out-dir '' into the current folder, MODEL '' the
--config file's model, eval --data '' on the run's own data, design run --data '' on
Fashion-MNIST, --data-root '' in the current folder, export --format '' as ONNX)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

HUGE = "1000000000000"
TRAIN = ["train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--epochs", "1",
         "--train-subset", "32", "--eval-subset", "16", "--quiet"]


def run_in(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.output
    return result


@pytest.mark.parametrize("args, said", [
    (TRAIN + ["--resize", HUGE], f"--resize {HUGE}: allowed: a size in pixels from 8 to 1048576"),
    (TRAIN + ["--pad-stem-channels", HUGE], f"--pad-stem-channels {HUGE}: allowed: a few "
                                            "channels (4 or 8), at most 64"),
    (TRAIN + ["--threads", HUGE], f"--threads {HUGE}: allowed: at most 1024"),
    (["speedrun", "--device", "cpu", "--threads", HUGE], f"--threads {HUGE}: allowed: at "
                                                         "most 1024"),
    (["resume", "RUN", "--threads", HUGE], "Invalid value for '--threads'"),
    (["eval", "RUN", "--threads", HUGE], "Invalid value for '--threads'"),
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--threads", HUGE],
     "Invalid value for '--threads'"),
    # numpy's generators refused a negative seed, trials.sqlite one past 2**63 - 1:
    # tracebacks, the second after the sweep's folder was made
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--seed", "-1"],
     "Invalid value for '--seed'"),
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--seed", str(2**64)],
     "Invalid value for '--seed'"),
    # the last trial's seed + i past 2**63 - 1: the same traceback
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--seed", str(2**63 - 1),
      "--n", "2"], "with 2 trials the seed must be from 0 to 9223372036854775806"),
    (["design", "sample", "--space", "anynetx_a", "--seed", "-1"], "Invalid value for '--seed'"),
    (["data", "info", "folder:photos", "--seed", "-1"], "Invalid value for '--seed'"),
    (TRAIN + ["--weights", ""], "--weights '': allowed: a weights file or a torchvision "
                                "weights name, or leave --weights out"),
    (TRAIN + ["--out-dir", ""], "--out-dir '': allowed: a folder for the run folders"),
    (TRAIN + ["--preset", ""], "unknown preset ''; allowed: book, fast, or none"),
    (TRAIN + ["--optimizer", "sgd "], "--optimizer 'sgd ': allowed: sgd, nesterov"),
    (["train", "", "--data", "synthetic"], "model '': give a model's name, e.g. lenet_modern"),
    (["eval", "RUN", "--data", ""], "--data '': give a dataset (fashion-mnist, folder:PATH "
                                    "or synthetic), or leave --data out"),
    (["export", "RUN", "--format", ""], "--format '': give onnx, or leave --format out"),
    # design run trained on Fashion-MNIST; bench zoo and data said "unknown dataset ''"
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--n", "1", "--epochs", "1",
      "--train-subset", "32", "--data", ""], "--data '': give a dataset (fashion-mnist, "
                                             "folder:PATH or synthetic), or leave --data out "
                                             "for fashion-mnist"),
    (["bench", "zoo", "--models", "lenet_d2l", "--data", " "], "--data ' ': give a dataset"),
    (["data", "info", ""], "DATASET '': give a dataset (fashion-mnist, folder:PATH or "
                           "synthetic), or leave it out for fashion-mnist"),
    # '' was '.', the current folder: looked in, and downloaded into, without a word
    (TRAIN + ["--data-root", ""], "--data-root '': give a folder (. for the current one), "
                                  "or leave --data-root out"),
    (["speedrun", "--device", "cpu", "--data-root", " "], "--data-root ' ': give a folder"),
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--data-root", ""],
     "--data-root '': give a folder"),
    (["bench", "zoo", "--models", "lenet_d2l", "--data-root", ""],
     "--data-root '': give a folder"),
    (["eval", "RUN", "--data-root", ""], "--data-root '': give a folder"),
    (["data", "locate", "--data-root", ""], "--root/--data-root '': give a folder (. for the "
                                            "current one), or leave --root/--data-root out"),
    # multiprocessing's semaphores count in a C int: a traceback
    (["design", "run", "--space", "anynetx_a", "--out", "sweep", "--workers", HUGE],
     "Invalid value for '--workers'"),
    # torch knows the device, cnnlab does not train there: a traceback in the data loader
    (TRAIN + ["--device", "meta"], "device 'meta': not a device this machine can train on"),
    (["export", "RUN", "--out", ""], "--out '': give the .onnx file to write, or leave "
                                     "--out out"),
], ids=lambda v: " ".join([v[0]] + [a or "''" for a in v[-2:]]) if isinstance(v, list)
   else "-")
def test_an_edge_value_is_refused_by_its_option(args, said, tmp_path, monkeypatch):
    result = run_in(tmp_path, monkeypatch, args)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written: no run, no sweep


def test_a_blank_model_does_not_take_the_config_files(tmp_path, monkeypatch):
    # MODEL '' fell through to the file's model: the run trained what was not typed.
    (tmp_path / "c.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    result = run_in(tmp_path, monkeypatch, ["train", "", "--config", "c.yaml",
                                            *TRAIN[2:]])
    assert result.exit_code == 2, result.output
    assert "model '': give a model's name" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_an_infinite_export_tolerance_is_refused(tmp_path):
    # --atol inf was taken: the onnxruntime check then passed whatever it saw.
    from cnnlab.export import ExportError, export_run

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("model: lenet_modern\n", encoding="utf-8")
    for keyword in ("atol", "rtol"):
        with pytest.raises(ExportError, match=rf"--{keyword} inf: a tolerance must be finite"):
            export_run(tmp_path / "run", **{keyword: float("inf")})


def test_a_folder_too_large_to_decode_says_how_large_and_what_to_give(tmp_path):
    # numpy's "array is too big" came out as a traceback of `data info --image-size`.
    from PIL import Image

    from cnnlab.data import load_dataset
    from cnnlab.data.folder import FolderDatasetError

    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "photos" / name / "0.png")
    # Refused before the decode where the free memory is known (Linux), else by numpy.
    with pytest.raises(FolderDatasetError, match=r"2 image\(s\) decoded at 1000000000000x"
                                                 r"1000000000000 .*take .* smaller"):
        load_dataset(f"folder:{tmp_path / 'photos'}", image_size=10**12, val_fraction=0.5)


def test_an_accelerator_torch_sees_here_is_let_through_and_meta_never(monkeypatch):
    # Refusing every device but cpu, cuda and mps would also have refused an Intel GPU
    # (xpu) where torch has one.
    import torch

    from cnnlab.train.config import ConfigError
    from cnnlab.train.device import select_device

    if hasattr(torch, "xpu"):
        monkeypatch.setattr(torch.xpu, "is_available", lambda: True)
        assert select_device("xpu").type == "xpu"
    with pytest.raises(ConfigError, match="'meta': not a device this machine can train on"):
        select_device("meta")
