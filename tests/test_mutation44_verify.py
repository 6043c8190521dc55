"""`cnnlab data verify` and the Fashion-MNIST search, where the other tests leave them
unpinned: a .gz cut off midway, which kind of good copy a file is, an empty
$CNNLAB_DATA, and the system copy's real files against the published checksums."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from cnnlab.data import fashion_mnist as fm


def _installed_md5s(monkeypatch, files: dict) -> None:
    """The tiny files' md5s installed as the published ones (archive and content)."""
    monkeypatch.setattr(fm, "ARCHIVE_MD5", {
        n: hashlib.md5(p.read_bytes()).hexdigest() for n, p in files.items()})
    monkeypatch.setattr(fm, "CONTENT_MD5", {
        n: hashlib.md5(gzip.open(p).read()).hexdigest() for n, p in files.items()})


def test_a_gz_cut_off_midway_is_called_corrupt_not_a_traceback(tiny_fashion, data_env,
                                                               monkeypatch) -> None:
    tiny = tiny_fashion(data_env / "d")
    files = fm.find_files(tiny.directory)
    _installed_md5s(monkeypatch, files)
    path = files["train-images-idx3-ubyte"]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a download cut short
    checks = {c.name: c for c in fm.verify(tiny.directory)[1]}
    bad = checks["train-images-idx3-ubyte"]
    assert not bad.ok and bad.path == path
    assert bad.detail.startswith("corrupt gzip stream")
    assert all(c.ok for n, c in checks.items() if n != bad.name)
    # A whole file of other content: both digests said, the one found and the one meant.
    path.write_bytes(gzip.compress(b"\0\0\x08\x03" + bytes(12), mtime=0))
    bad = {c.name: c for c in fm.verify(tiny.directory)[1]}["train-images-idx3-ubyte"]
    found = hashlib.md5(b"\0\0\x08\x03" + bytes(12)).hexdigest()
    assert bad.detail == f"md5 {found}, published {fm.CONTENT_MD5[bad.name]}"


def test_verify_tells_the_published_archive_from_a_copy_compressed_again(
        tiny_fashion, data_env, monkeypatch) -> None:
    tiny = tiny_fashion(data_env / "d")
    files = fm.find_files(tiny.directory)
    _installed_md5s(monkeypatch, files)
    path = files["t10k-labels-idx1-ubyte"]
    checks = {c.name: c for c in fm.verify(tiny.directory)[1]}
    assert checks[path.name[:-3]].detail == "md5 ok (the published archive)"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), mtime=7))  # Debian's
    checks = {c.name: c for c in fm.verify(tiny.directory)[1]}
    assert checks[path.name[:-3]].ok
    assert checks[path.name[:-3]].detail == "md5 ok (same content as published)"


def test_an_empty_cnnlab_data_is_unset_not_the_current_folder(tiny_fashion, data_env,
                                                              monkeypatch) -> None:
    # `export CNNLAB_DATA=` (emptied, not unset): Path("") is the current folder, which
    # would then be searched first.
    here = data_env / "here"
    tiny_fashion(here)
    monkeypatch.chdir(here)
    monkeypatch.setenv(fm.ENV_VAR, "")
    assert [p.origin for p in fm.candidates()] == ["cnnlab cache", "system copy"]
    assert fm.locate() is None


def test_evaluation_reads_the_test_split_past_a_damaged_training_file(
        tiny_fashion, data_env) -> None:
    tiny = tiny_fashion(data_env / "d")
    images = tiny.directory / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100])
    data = fm.load(tiny.directory, test_only=True)
    assert len(data.train) == 0 and data.train.images.shape[1:] == (1, 28, 28)
    assert len(data.test) == 10
    with pytest.raises(fm.IdxFormatError, match="train-images-idx3-ubyte.gz: corrupt gzip"):
        fm.load(tiny.directory)


def test_a_damaged_system_copy_is_mended_by_reinstalling_it(tiny_fashion, data_env) -> None:
    # Not `cnnlab data download --force --root /usr/share/...`: a folder of the package's,
    # which a user cannot write and apt would overwrite.
    tiny = tiny_fashion(fm.SYSTEM_DIR)
    labels = tiny.directory / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-9])
    with pytest.raises(fm.IdxFormatError) as info:
        fm.load()
    words = " ".join(str(info.value).split())
    assert str(labels) in words
    assert "sudo apt-get install --reinstall dataset-fashion-mnist" in words
    assert "--root" not in words


@pytest.mark.real_data
def test_the_system_copy_matches_the_published_checksums() -> None:
    # The real files (Debian's dataset-fashion-mnist) against the constants themselves:
    # a wrong digit in CONTENT_MD5 fails every verify; in ARCHIVE_MD5 it refetches
    # every time.
    if fm.find_files(fm.SYSTEM_DIR) is None:
        pytest.skip(f"no system copy in {fm.SYSTEM_DIR}")
    location, checks = fm.verify(fm.SYSTEM_DIR)
    assert location.path == fm.SYSTEM_DIR
    assert [c.name for c in checks] == list(fm.FILES)
    assert all(c.ok for c in checks), checks
    raw = {n: gzip.open(fm.SYSTEM_DIR / f"{n}.gz").read() for n in fm.FILES}
    assert {n: len(b) for n, b in raw.items()} == {
        "train-images-idx3-ubyte": 16 + 60000 * 28 * 28, "train-labels-idx1-ubyte": 8 + 60000,
        "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28, "t10k-labels-idx1-ubyte": 8 + 10000}
