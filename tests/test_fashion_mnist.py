"""Fashion-MNIST: where it is found, how it loads and is verified; its CLI. (Downloads:
test_fashion_mnist_download.py.)"""

from __future__ import annotations

import gzip
import hashlib
import os

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli.data import app as data_app
from cnnlab.data import IdxFormatError, UnknownDatasetError, load_dataset
from cnnlab.data import fashion_mnist as fm
from cnnlab.data.idx import write_idx

# --------------------------------------------------------------------------- locate


def test_search_order_explicit_env_cache_system(tiny_fashion, data_env, monkeypatch) -> None:
    places = {k: data_env / k for k in ("explicit", "env", "cache/fashion-mnist", "system")}
    for place in places.values():
        tiny_fashion(place)
    monkeypatch.setenv(fm.ENV_VAR, str(places["env"]))

    found = fm.locate(places["explicit"])
    assert (found.path, found.origin) == (places["explicit"], "given path")
    assert fm.locate().path == places["env"]  # no explicit path: the environment wins
    monkeypatch.delenv(fm.ENV_VAR)
    found = fm.locate()
    assert (found.path, found.origin) == (places["cache/fashion-mnist"], "cnnlab cache")
    for name in os.listdir(places["cache/fashion-mnist"]):
        os.remove(places["cache/fashion-mnist"] / name)
    assert fm.locate() == fm.Location(places["system"], "system copy")
    for name in os.listdir(places["system"]):
        os.remove(places["system"] / name)
    assert fm.locate() is None


def test_a_given_path_without_the_files_is_named_not_passed_over(tiny_fashion, data_env,
                                                                 monkeypatch) -> None:
    # A mistyped --data-root must not quietly train on another copy (nor verify one).
    tiny_fashion(data_env / "system")
    (data_env / "empty").mkdir()
    assert fm.locate(data_env / "empty") is None
    assert fm.locate().path == data_env / "system"
    with pytest.raises(fm.DatasetNotFoundError, match=r"empty \(given path\): missing"):
        fm.verify(data_env / "empty")
    with pytest.raises(fm.DatasetNotFoundError, match=r"typo \(given path\): does not exist"):
        fm.load(data_env / "typo", download=False)
    # Nor is a mistyped folder created and downloaded into: it is named, with what to do.
    with pytest.raises(fm.DatasetNotFoundError) as info:
        fm.load(data_env / "typo", progress=False)
    assert not (data_env / "typo").exists()
    message = str(info.value)
    assert "typo (given path): does not exist" in message
    assert "Put the four files there" in message and "leave out --data-root" in message
    assert "export CNNLAB_DATA" not in message  # ignored while a folder is given
    (data_env / "a-file").write_text("not a folder")  # nor is a file downloaded into
    with pytest.raises(fm.DatasetNotFoundError, match=r"a-file \(given path\): not a directory"
                       r"(.|\n)*Give a folder holding the four .gz files, not a file") as info:
        fm.load(data_env / "a-file", progress=False)
    assert "Put the four files there" not in str(info.value)  # nothing goes into a file
    # An existing, empty one is downloaded into; offline, the advice needs no mirror.
    with pytest.raises(fm.DatasetNotFoundError) as info:
        fm.load(data_env / "empty", progress=False)
    message = str(info.value)
    assert "empty (given path): missing" in message and "could not download" in message
    assert "cnnlab data download" not in message and "copy the four .gz files" in message
    assert "  or copy" not in message  # an 'or' with nothing before it, once
    # Evaluation told the data is there now (eval --data-root) is told it is not, and
    # fetches nothing: it tried all four files, the training split first.
    monkeypatch.setattr(fm, "_download_into", lambda *a: pytest.fail("downloaded"))
    with pytest.raises(fm.DatasetNotFoundError, match=r"empty \(given path\): missing"):
        fm.load(data_env / "empty", progress=False, test_only=True)


def test_directory_counts_only_with_all_four_files(tiny_fashion, data_env) -> None:
    directory = tiny_fashion(data_env / "d").directory
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    assert fm.find_files(directory) is None
    assert "missing t10k-labels-idx1-ubyte[.gz]" in fm.not_found_message(directory)


def test_raw_names_and_torchvision_layout_are_accepted(tiny_fashion, data_env) -> None:
    raw = tiny_fashion(data_env / "raw", gz=False).directory
    assert fm.find_files(raw)["train-images-idx3-ubyte"] == raw / "train-images-idx3-ubyte"
    tv = tiny_fashion(data_env / "tv" / "FashionMNIST" / "raw").directory
    assert fm.find_files(data_env / "tv")["t10k-labels-idx1-ubyte"].parent == tv


# --------------------------------------------------------------------------- load


def test_load_returns_uint8_nchw_and_int64_labels(tiny_fashion, data_env) -> None:
    tiny = tiny_fashion(data_env / "d", n_train=30, n_test=20)
    data = load_dataset("fashion-mnist", root=tiny.directory)
    assert data.name == "fashion-mnist" and data.classes == list(fm.CLASSES)
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"
    assert data.train.images.shape == (30, 1, 28, 28) and data.test.images.shape == (20, 1, 28, 28)
    assert data.train.images.dtype == torch.uint8 and data.train.labels.dtype == torch.int64
    assert data.train.images.is_contiguous()
    assert torch.equal(data.train.images[:, 0], torch.from_numpy(tiny.train_images))
    assert torch.equal(data.test.labels, torch.from_numpy(tiny.test_labels).long())
    assert str(tiny.directory) in data.source and "given path" in data.source
    assert (data.num_classes, data.channels, data.image_size) == (10, 1, (28, 28))


def test_load_rejects_images_that_are_not_28x28(data_env) -> None:
    d = data_env / "system"
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte", np.zeros((2, 27, 27), np.uint8))
    write_idx(d / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    write_idx(d / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(IdxFormatError, match="train-images-idx3-ubyte: images are 27x27"):
        load_dataset("fashion-mnist", download=False)


def test_not_found_says_where_it_looked_and_how_to_get_it(data_env) -> None:
    with pytest.raises(fm.DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", download=False)
    message = str(info.value)
    for expected in (
        "$CNNLAB_DATA: not set",
        str(data_env / "cache" / "fashion-mnist"),
        str(data_env / "system"),
        "cnnlab data download fashion-mnist",
        "apt-get install dataset-fashion-mnist",
        "export CNNLAB_DATA=",
    ):
        assert expected in message
    with pytest.raises(fm.DatasetNotFoundError) as info:  # a given folder is the only one
        load_dataset("fashion-mnist", root=data_env / "nowhere", download=False)
    assert f"{data_env / 'nowhere'} (given path): does not exist" in str(info.value)
    assert "only there: it was given" in str(info.value)


def test_unknown_spec_and_option_are_named() -> None:
    with pytest.raises(
        UnknownDatasetError, match="accepted: fashion-mnist, folder:PATH, synthetic"
    ):
        load_dataset("mnist")
    with pytest.raises(UnknownDatasetError, match=r"'folder: ' names no folder: give "
                                                  r"folder:PATH"):  # not 'unknown dataset'
        load_dataset("folder: ")
    with pytest.raises(UnknownDatasetError, match="unknown option.*image_size.*download"):
        load_dataset("fashion-mnist", image_size=32)
    with pytest.raises(UnknownDatasetError, match="synthetic: unknown option.*size; "
                                                  "accepted: .*image_size"):
        load_dataset("synthetic", size=8)  # not Python's bare TypeError


def test_synthetic_spec_passes_options_through() -> None:
    data = load_dataset("synthetic", num_train=20, num_test=10, num_classes=4, image_size=8)
    assert data.train.images.shape == (20, 1, 8, 8) and data.num_classes == 4


# --------------------------------------------------------------------------- verify


def test_verify_checks_content_md5(tiny_fashion, data_env, monkeypatch) -> None:
    tiny = tiny_fashion(data_env / "d")
    files = fm.find_files(tiny.directory)
    content = {n: hashlib.md5(gzip.open(p).read()).hexdigest() for n, p in files.items()}
    monkeypatch.setattr(fm, "CONTENT_MD5", content)
    location, checks = fm.verify(tiny.directory)
    assert location.path == tiny.directory and all(c.ok for c in checks)
    assert "same content as published" in checks[0].detail  # archive md5 is the real one

    path = files["train-labels-idx1-ubyte"]
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x03"))
    checks = {c.name: c for c in fm.verify(tiny.directory)[1]}
    assert not checks["train-labels-idx1-ubyte"].ok
    assert checks["train-labels-idx1-ubyte"].detail.startswith("md5 ")
    assert checks["train-images-idx3-ubyte"].ok


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_info_prints_source_shapes_and_balance(tiny_fashion, data_env) -> None:
    tiny = tiny_fashion(data_env / "d", n_train=30, n_test=20)
    result = runner.invoke(data_app, ["info", "fashion-mnist", "--root", str(tiny.directory)])
    assert result.exit_code == 0, result.output
    assert "1 x 28 x 28" in result.stdout and "given path" in result.stdout
    assert "Ankle boot" in result.stdout
    assert "│ 9     │ Ankle boot  │ 3     │ 2    │" in result.stdout  # 30 and 20 cycle 0..9


def test_cli_show_writes_png(tiny_fashion, data_env) -> None:
    tiny = tiny_fashion(data_env / "d")
    out = data_env / "plots" / "grid.png"
    args = ["show", "--root", str(tiny.directory), "--out", str(out), "--n", "4"]
    result = runner.invoke(data_app, [*args, "--split", "test"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 100


def test_cli_locate(tiny_fashion, data_env, monkeypatch) -> None:
    result = runner.invoke(data_app, ["locate", "fashion-mnist"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "not found" in result.stderr and "Traceback" not in result.output
    tiny = tiny_fashion(data_env / "env")
    monkeypatch.setenv(fm.ENV_VAR, str(tiny.directory))
    result = runner.invoke(data_app, ["locate", "fashion-mnist"])
    assert result.exit_code == 0 and result.stdout.strip() == str(tiny.directory)
    # --data-root (as train and eval spell it) is --root here too, and the only place.
    result = runner.invoke(data_app, ["locate", "--data-root", str(data_env / "typo")])
    assert result.exit_code == 1
    assert "typo (given path): does not exist" in " ".join(result.stderr.split())


def test_cli_errors_are_one_red_line_not_a_traceback(data_env) -> None:
    result = runner.invoke(data_app, ["info", "mnist"])
    assert result.exit_code == 2 and "unknown dataset 'mnist'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    result = runner.invoke(data_app, ["info", "fashion-mnist", "--no-download"])
    assert result.exit_code == 1 and "Looked in" in result.stderr
    result = runner.invoke(data_app, ["download", "mnist"])  # not "accepted: ... synthetic"
    assert result.exit_code == 2 and "applies to fashion-mnist only, not 'mnist'" in result.stderr
    result = runner.invoke(data_app, ["show", "--split", "val"])
    assert result.exit_code == 2 and '--split must be "train" or "test"' in result.stderr


# --------------------------------------------------------------------------- real data


@pytest.mark.real_data
def test_real_fashion_mnist() -> None:
    if fm.locate() is None:
        pytest.skip("Fashion-MNIST not available (cnnlab data download fashion-mnist)")
    data = load_dataset("fashion-mnist", download=False)
    assert data.train.images.shape == (60000, 1, 28, 28)
    assert data.test.images.shape == (10000, 1, 28, 28)
    assert data.train.class_counts(10) == [6000] * 10
    assert data.test.class_counts(10) == [1000] * 10
    _, checks = fm.verify()
    assert all(c.ok for c in checks), checks


