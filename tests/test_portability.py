"""What differs on Windows and macOS, checked here on Linux by recreating the difference:
a locale or an output whose encoding is not UTF-8 (Windows' cp1252), no POSIX-only
modules, folders that open with PermissionError (Windows), a device without float64 that
queues its work (Apple's MPS), and a macOS Python without certificates."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
import traceback

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

# Under the C locale, with the UTF-8 mode and locale coercion off, Python's default text
# encoding is ASCII: stricter than Windows' cp1252, so a file opened without an encoding
# fails here on any character outside ASCII (cp1252 lacks "→", "−" and "α" too).
ASCII_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=120)


def test_files_are_utf8_whatever_the_locale(tmp_path):
    # Non-ASCII text is written as \u escapes: under the C locale the command line itself
    # cannot carry it.
    done = run_python(f"""
        import locale
        from pathlib import Path
        from cnnlab.atomic import atomic_write_text
        from cnnlab.train.yaml_file import read_mapping

        assert locale.getpreferredencoding(False) != "UTF-8"
        folder = Path({str(tmp_path)!r})
        atomic_write_text(folder / "report.md", "acc \\u2212 book \\u2192 \\u03b1 0.5")
        (folder / "config.yaml").write_bytes("# taux d'apprentissage \\u00e9lev\\u00e9\\n"
                                             "lr: 0.2\\n".encode("utf-8"))
        print(read_mapping(folder / "config.yaml"))
    """, ASCII_LOCALE)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == "acc − book → α 0.5"
    assert done.stdout.strip() == "{'lr': 0.2}"


def test_training_runs_without_posix_modules(tmp_path):
    # Windows has neither `resource` (peak memory) nor `fcntl` (the run folder's lock):
    # a run trains, records its peak memory as unknown, and resumes all the same.
    done = run_python(f"""
        import sys
        sys.modules["resource"] = sys.modules["fcntl"] = None  # their import now fails
        from cnnlab.train import TrainConfig, resume, train

        cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=64,
                          device="cpu", quiet=True, out_dir={str(tmp_path)!r}, run_name="r")
        train(cfg)
        resume({str(tmp_path / "r")!r}, extra_epochs=1, console=None)
    """)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "r" / "metrics.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(r["peak_memory_mb"] == "nan" for r in rows)


class LikeMPS(TorchDispatchMode):
    """Fails what Apple's MPS device refuses: any operation that makes a float64 tensor
    (except the normalisation constants' arithmetic, which stays on the CPU), and
    index_add_ of int64 counts (before torch 2.9)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.__name__.startswith("index_add") and args[3].dtype == torch.int64:
            raise AssertionError(f"{func} adds int64 counts")
        out = func(*args, **(kwargs or {}))
        made = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if any(t.dtype == torch.float64 for t in made) and not any(
                frame.name == "pixel_affine" for frame in traceback.extract_stack()):
            raise AssertionError(f"{func} made a float64 tensor")
        return out


def test_training_on_a_device_like_mps(tmp_path, monkeypatch):
    # What the trainer and evaluation keep on the device is of the dtypes
    # train.device.sum_dtype and count_dtype give for MPS. Here the CPU is taken for one.
    from cnnlab.train import evaluate as evaluation
    from cnnlab.train import resolve_config, train, trainer

    for module in (trainer, evaluation):
        monkeypatch.setattr(module, "sum_dtype", lambda device: torch.float32)
    monkeypatch.setattr(evaluation, "count_dtype", lambda device: torch.int32)
    cfg = resolve_config("lenet_modern", "fast", overrides={  # with EMA, flip TTA
        "data": "synthetic", "epochs": 1, "batch_size": 64, "device": "cpu", "quiet": True,
        "out_dir": str(tmp_path), "tta_flip": True})
    with LikeMPS():
        result = train(cfg)
    assert 0 <= result.best_test_acc <= 1
    assert sum(map(sum, result.confusion)) == 128  # the synthetic test split, counted


def test_output_to_a_file_in_a_code_page_without_arrows():
    # On Windows a pipe or a file gets the ANSI code page (cp1252): no "→" in it.
    done = run_python("""
        import sys
        from cnnlab.command_line import main
        sys.argv = ["cnnlab", "summary", "lenet_d2l"]
        main()
    """, {"PYTHONIOENCODING": "cp1252"})
    assert done.returncode == 0, done.stderr
    assert "1x28x28 -> 6x14x14 ->" in done.stdout
    # What has no look-alike is written as before: escaped on stderr, "?" on stdout.
    done = run_python("""
        import sys
        from cnnlab.command_line import _replace_what_output_cannot_encode
        _replace_what_output_cannot_encode()
        print("\u2212 \u4e2d", file=sys.stderr)
        print("\u2212 \u4e2d")
    """, {"PYTHONIOENCODING": "cp1252"})
    assert (done.stdout, done.stderr) == ("- ?\n", "- \\u4e2d\n")


def test_epoch_times_wait_for_any_device_that_queues_work(tmp_path, monkeypatch):
    # The trainer waited for CUDA only: on Apple's MPS an epoch's time (and the --max-time
    # budget) counted the work queued, not the work done. It now waits through
    # train.device.synchronize, which knows both (test_bench_results checks MPS there).
    from cnnlab.train import TrainConfig, train, trainer

    waited = []
    monkeypatch.setattr(trainer, "synchronize", lambda device: waited.append(device.type))
    train(TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=64,
                      device="cpu", quiet=True, out_dir=str(tmp_path)))
    assert waited == ["cpu"] * 4  # each epoch: after training, after evaluating


def test_a_mac_python_without_certificates_is_told_how_to_get_them(data_env, monkeypatch):
    # python.org's macOS installer leaves Python without CA certificates until its
    # "Install Certificates.command" has run: every mirror then fails the same way.
    import urllib.error

    from cnnlab.data import fashion_mnist as fm

    def unverified(url, timeout):
        raise urllib.error.URLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                    "failed: unable to get local issuer certificate")

    monkeypatch.setattr(fm, "_open_url", unverified)
    monkeypatch.setattr(fm.sys, "platform", "darwin")
    with pytest.raises(fm.DownloadError, match="run 'Install Certificates.command'"):
        fm.download(data_env / "fm", progress=False)


def test_a_folder_given_as_a_file_is_named_as_one_where_opening_it_is_eacces(
        tmp_path, monkeypatch):
    # Windows refuses to open a folder with PermissionError, not IsADirectoryError.
    import io

    from PIL import Image

    from cnnlab.data.image_file import ImageFileError, read_image
    from cnnlab.train.config import ConfigError
    from cnnlab.train.yaml_file import read_mapping

    locked = tmp_path / "locked.yaml"  # a file this user may not read
    locked.write_text("lr: 0.1\n", encoding="utf-8")

    def refuse_folders(opener):
        def opened(file, *args, **kwargs):
            if os.path.isdir(file) or str(file) == str(locked):
                raise PermissionError(13, "Permission denied", str(file))
            return opener(file, *args, **kwargs)
        return opened

    monkeypatch.setattr(io, "open", refuse_folders(io.open))  # pathlib's open
    monkeypatch.setattr(Image, "open", refuse_folders(Image.open))
    with pytest.raises(ConfigError, match="is a folder, not a YAML config file"):
        read_mapping(tmp_path)
    with pytest.raises(ImageFileError, match="a folder, not an image file"):
        read_image(tmp_path, channels=1)
    with pytest.raises(ConfigError, match="cannot be read .Permission denied"):
        read_mapping(locked)
    with pytest.raises(ImageFileError, match="may not read it .permission denied.: let it be read"):
        read_image(locked, channels=1)


def test_adaptive_pools_mps_refuses_are_done_on_the_cpu(monkeypatch):
    # MPS pools adaptively only when the input is a multiple of the output: VGG's 7x7
    # pool after a 2x2 map (--resize 64) raised there, in every torch release.
    from cnnlab.models import _base, get_model
    from cnnlab.train.device import count_dtype, sum_dtype

    mps, cuda = torch.device("mps"), torch.device("cuda")
    assert _base.refused_on(mps, (2, 2), 7) and _base.refused_on(mps, (3, 14), (4, 4))
    assert not _base.refused_on(mps, (14, 14), 7) and not _base.refused_on(mps, (2, 5), (1, None))
    assert not _base.refused_on(cuda, (2, 2), 7) and not _base.refused_on(mps, (2, 2), None)
    assert (sum_dtype("mps"), count_dtype("mps")) == (torch.float32, torch.int32)
    assert (sum_dtype("cuda"), count_dtype("cuda")) == (torch.float64, torch.int64)
    # Each adaptive pool asks; here every one is taken for refused, so it runs the CPU path.
    asked = []
    monkeypatch.setattr(_base, "refused_on", lambda device, size, output_size: (
        asked.append((size, output_size)) or True))
    vgg = get_model("vgg11", num_classes=10, in_channels=1)
    vgg(torch.randn(2, 1, 64, 64)).sum().backward()
    assert asked == [((2, 2), 7)] and vgg.features[0].weight.grad.abs().sum() > 0
    asked.clear()
    googlenet = get_model("googlenet", num_classes=10, in_channels=1, aux_logits=True)
    googlenet.train()(torch.randn(2, 1, 96, 96))
    assert asked == [((6, 6), (4, 4))] * 2  # the two auxiliary heads
