"""Fashion-MNIST downloads (against a fake server): mirrors tried in turn, every file
md5-checked before it is kept, nothing valid-looking left by a failed or cut-off download,
and what a failed one says."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cnnlab.cli.data import app as data_app
from cnnlab.data import fashion_mnist as fm
from cnnlab.data import load_dataset
from cnnlab.data.idx import write_idx

runner = CliRunner()


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
    assert str(info.value).count(fm.MIRRORS[0]) == 1  # each mirror's URL once, not twice
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


def _four_empty_files(folder):
    folder.mkdir()
    for name in fm.FILES:
        (folder / f"{name}.gz").write_bytes(b"")
    return folder


def test_a_failed_download_where_the_system_copy_is_installed_says_none_is_needed(
        tmp_path, monkeypatch) -> None:
    system = _four_empty_files(tmp_path / "system")
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "SYSTEM_DIR", system)
    words = fm.how_to_get(downloaded=True)
    assert f"No download is needed here: Debian's dataset-fashion-mnist is installed in {system}" \
        in words and "apt-get" not in words
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "absent")
    assert "sudo apt-get install dataset-fashion-mnist" in fm.how_to_get(downloaded=True)


def test_a_failed_download_names_the_copy_in_cnnlab_data_every_command_reads(
        tmp_path, monkeypatch) -> None:
    mine = _four_empty_files(tmp_path / "mine")
    monkeypatch.setenv(fm.ENV_VAR, str(mine))
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "absent")
    words = fm.how_to_get(downloaded=True)
    assert f"No download is needed here: ${fm.ENV_VAR} ({mine}) holds the four files" in words
    assert "apt-get" not in words




def test_a_download_larger_than_any_published_file_is_stopped(data_env, archives,
                                                              monkeypatch) -> None:
    # 300 MB from a plain-http mirror had been written out in full before its md5 failed
    # (an endless one would fill the disk); a Content-Length that is no number had
    # raised a ValueError no mirror loop caught.
    monkeypatch.setattr(fm, "MOST_ARCHIVE_BYTES", 5000)

    def respond(url):
        response = FakeResponse(b"\x1f\x8b" + bytes(20_000))
        response.headers = {"Content-Length": "lots"}
        return response

    serve(monkeypatch, respond)
    with pytest.raises(fm.DownloadError) as info:
        fm.download(data_env / "target", progress=False)
    assert "larger than any published file: stopped" in str(info.value)
    assert leftovers(data_env / "target") == []
