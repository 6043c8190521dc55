"""Fashion-MNIST: where it is found, how it is downloaded and verified, how it loads; its CLI."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

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


def test_synthetic_spec_passes_options_through() -> None:
    data = load_dataset("synthetic", num_train=20, num_test=10, num_classes=4, image_size=8)
    assert data.train.images.shape == (20, 1, 8, 8) and data.num_classes == 4


# --------------------------------------------------------------------------- download


class FakeResponse:
    """Just enough of an HTTP response: headers, read(n), a context manager."""

    def __init__(self, data: bytes, fail_at: int | None = None, error: BaseException = None):
        self.data, self.pos, self.fail_at, self.error = data, 0, fail_at, error
        self.headers = {"Content-Length": str(len(data))}

    def read(self, n: int) -> bytes:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise self.error
        n = min(n, 1000)  # small chunks, so failures land mid-file
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


@pytest.fixture
def archives(tmp_path, monkeypatch) -> dict[str, bytes]:
    """Tiny gz archives by file name, installed as the 'published' md5s."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(12) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(6) % 10).astype(np.uint8),
    }
    blobs = {}
    for name, array in arrays.items():
        write_idx(tmp_path / f"{name}.gz", array)
        blobs[f"{name}.gz"] = (tmp_path / f"{name}.gz").read_bytes()
    md5 = {n[:-3]: hashlib.md5(b).hexdigest() for n, b in blobs.items()}
    monkeypatch.setattr(fm, "ARCHIVE_MD5", md5)
    monkeypatch.setattr(fm, "CONTENT_MD5", {n[:-3]: hashlib.md5(gzip.decompress(b)).hexdigest()
                                            for n, b in blobs.items()})
    return blobs


def serve(monkeypatch, respond) -> list[str]:
    """Route fm._open_url through ``respond(url) -> FakeResponse``; return the URLs asked for."""
    asked: list[str] = []

    def fake_open(url: str, timeout: float):
        asked.append(url)
        return respond(url)

    monkeypatch.setattr(fm, "_open_url", fake_open)
    return asked


def leftovers(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


def test_download_from_first_mirror(data_env, archives, monkeypatch) -> None:
    asked = serve(monkeypatch, lambda url: FakeResponse(archives[url.rsplit("/", 1)[1]]))
    target = fm.download(progress=False)
    assert target == data_env / "cache" / "fashion-mnist"
    assert leftovers(target) == sorted(archives)  # no .part files
    for name, blob in archives.items():
        assert (target / name).read_bytes() == blob
    assert all(url.startswith(fm.MIRRORS[0]) for url in asked) and len(asked) == 4
    # Valid files are not fetched again, nor another gzip of the same content (Debian's).
    fm.download(progress=False)
    assert len(asked) == 4
    name = "t10k-labels-idx1-ubyte.gz"
    (target / name).write_bytes(gzip.compress(gzip.decompress(archives[name]), mtime=1))
    assert (target / name).read_bytes() != archives[name]
    fm.download(progress=False)
    assert len(asked) == 4


def test_downloaded_archives_are_readable_as_a_plain_write_leaves_them(
        data_env, archives, monkeypatch) -> None:
    # Not private (0600) like a mkstemp file: a shared cache serves other users too.
    serve(monkeypatch, lambda url: FakeResponse(archives[url.rsplit("/", 1)[1]]))
    previous = os.umask(0o022)
    try:
        target = fm.download(data_env / "shared", progress=False)
    finally:
        os.umask(previous)
    assert {oct((target / name).stat().st_mode & 0o777) for name in archives} == {"0o644"}


def test_checksum_mismatch_tries_next_mirror(data_env, archives, monkeypatch) -> None:
    def respond(url):
        good = archives[url.rsplit("/", 1)[1]]
        damaged = good[:-1] + bytes([good[-1] ^ 1])
        return FakeResponse(damaged if url.startswith(fm.MIRRORS[0]) else good)

    asked = serve(monkeypatch, respond)
    target = fm.download(progress=False)
    assert leftovers(target) == sorted(archives)
    assert [u.startswith(fm.MIRRORS[1]) for u in asked] == [False, True] * 4


def test_checksum_mismatch_everywhere_leaves_no_file(data_env, archives, monkeypatch) -> None:
    serve(monkeypatch, lambda url: FakeResponse(b"\x1f\x8b" + b"garbage" * 100))
    with pytest.raises(fm.DownloadError) as info:
        fm.download(data_env / "target", progress=False)
    assert "does not match the published" in str(info.value)
    assert fm.MIRRORS[0] in str(info.value) and fm.MIRRORS[1] in str(info.value)
    assert leftovers(data_env / "target") == []


@pytest.mark.parametrize("error", [ConnectionResetError("reset by peer"), KeyboardInterrupt()])
def test_interrupted_download_leaves_no_valid_looking_file(
    data_env, archives, monkeypatch, error
) -> None:
    def respond(url):
        name = url.rsplit("/", 1)[1]
        if name.startswith("t10k-images"):  # the third file dies halfway
            return FakeResponse(archives[name], fail_at=len(archives[name]) // 2, error=error)
        return FakeResponse(archives[name])

    serve(monkeypatch, respond)
    target = data_env / "target"
    with pytest.raises((fm.DownloadError, KeyboardInterrupt)):
        fm.download(target, progress=False)
    # The two finished files stay; the interrupted one leaves nothing, not even a .part.
    assert leftovers(target) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert fm.find_files(target) is None


def test_load_downloads_into_cache_when_nothing_found(data_env, archives, monkeypatch) -> None:
    serve(monkeypatch, lambda url: FakeResponse(archives[url.rsplit("/", 1)[1]]))
    data = load_dataset("fashion-mnist", progress=False)
    assert len(data.train) == 12 and len(data.test) == 6
    assert "downloaded" in data.source
    assert fm.locate().origin == "cnnlab cache"


def test_load_when_download_fails_explains(data_env) -> None:
    with pytest.raises(fm.DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", progress=False)  # data_env's network refuses
    message = str(info.value)
    assert "Looked in" in message and "could not download" in message
    assert "tests must not use the network" in message
    # What to do next, without recommending the download that just failed.
    assert "apt-get install dataset-fashion-mnist" in message and "export CNNLAB_DATA" in message
    assert "cnnlab data download" not in message


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


def test_cli_download_and_verify(data_env, archives, monkeypatch) -> None:
    serve(monkeypatch, lambda url: FakeResponse(archives[url.rsplit("/", 1)[1]]))
    result = runner.invoke(data_app, ["download", "fashion-mnist"])
    assert result.exit_code == 0, result.output
    assert str(data_env / "cache" / "fashion-mnist") in result.stdout
    result = runner.invoke(data_app, ["verify"])
    assert result.exit_code == 0 and "BAD" not in result.stdout, result.output
    damaged = data_env / "cache" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(8)))
    result = runner.invoke(data_app, ["verify"])
    assert result.exit_code == 1 and "BAD" in result.stdout


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


def test_a_damaged_file_says_how_to_mend_it_and_download_removes_a_bad_raw_copy(
        data_env, archives, monkeypatch) -> None:
    serve(monkeypatch, lambda url: FakeResponse(archives[url.rsplit("/", 1)[1]]))
    target = fm.download(data_env / "fm", progress=False)
    # An uncompressed copy, cut short, beside its good .gz: it is the one read.
    raw = target / "t10k-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress(archives["t10k-images-idx3-ubyte.gz"])[:-100])
    with pytest.raises(fm.IdxFormatError) as info:
        fm.load(target, download=False)
    words = " ".join(str(info.value).split())
    assert "t10k-images-idx3-ubyte" in words and f"cnnlab data verify --root {target}" in words
    assert f"cnnlab data download --force --root {target}" in words
    with pytest.warns(fm.DataWarning, match="moved .*t10k-images-idx3-ubyte to "
                      "t10k-images-idx3-ubyte.damaged"):
        fm.download(target, progress=False)  # the archives are valid: the raw copy moves
    assert not raw.exists() and len(fm.load(target, download=False).test.labels) == 6
    assert (target / "t10k-images-idx3-ubyte.damaged").exists()  # kept, not deleted
    # A .gz a browser saved decompressed: verify fails it (the loader would), download
    # fetches it again.
    gz = target / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.decompress(archives[gz.name]))
    assert "not gzip data" in fm._check_file("t10k-labels-idx1-ubyte", gz).detail
    fm.download(target, progress=False)
    assert gz.read_bytes() == archives[gz.name]
    # A raw file with no .gz to replace it, and no network: nothing is touched.
    lone = data_env / "lone"
    lone.mkdir()
    (lone / "train-images-idx3-ubyte").write_text("my own variant")
    serve(monkeypatch, lambda url: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(fm.DownloadError):
        fm.download(lone, progress=False)
    assert (lone / "train-images-idx3-ubyte").read_text() == "my own variant"


def test_a_failed_download_where_the_system_copy_is_installed_says_none_is_needed(
        tmp_path, monkeypatch) -> None:
    system = tmp_path / "system"
    system.mkdir()
    for name in fm.FILES:
        (system / f"{name}.gz").write_bytes(b"")
    monkeypatch.setattr(fm, "SYSTEM_DIR", system)
    words = fm.how_to_get(downloaded=True)
    assert f"No download is needed here: Debian's dataset-fashion-mnist is installed in {system}" \
        in words and "apt-get" not in words
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "absent")
    assert "sudo apt-get install dataset-fashion-mnist" in fm.how_to_get(downloaded=True)
