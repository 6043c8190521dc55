"""Fashion-MNIST downloads against a fake server (no network): what the other download
tests leave unpinned. A mirror that cuts the body short, --force, a folder this user
cannot write that needs nothing, the time limit, the size cap's room for the largest
published archive, and advice meant for macOS only."""

from __future__ import annotations

import http.client
import urllib.error

import pytest
from test_fashion_mnist_download import FakeResponse, archives, serve  # noqa: F401 (fixture)

from cnnlab.data import fashion_mnist as fm


class WholeChunks(FakeResponse):
    """Chunks of the size asked for (FakeResponse's 1000 bytes take long for 26 MB)."""

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


def test_a_certificate_failure_off_macos_gives_no_macos_advice(data_env, monkeypatch) -> None:
    def unverified(url, timeout):
        raise urllib.error.URLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                    "failed: unable to get local issuer certificate")

    monkeypatch.setattr(fm, "_open_url", unverified)
    monkeypatch.setattr(fm.sys, "platform", "linux")
    with pytest.raises(fm.DownloadError) as info:
        fm.download(data_env / "fm", progress=False)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert "Install Certificates" not in str(info.value)


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_body_cut_short_by_one_mirror_is_fetched_from_the_next(data_env, archives,  # noqa: F811
                                                                 monkeypatch) -> None:
    # http.client's IncompleteRead is no OSError: it stopped the download with a traceback.
    def respond(url):
        name = _name(url)
        if url.startswith(fm.MIRRORS[0]):
            return FakeResponse(archives[name], fail_at=10,
                                error=http.client.IncompleteRead(b"", 100))
        return FakeResponse(archives[name])

    asked = serve(monkeypatch, respond)
    target = fm.download(data_env / "target", progress=False)
    assert fm.find_files(target) is not None
    assert [u.startswith(fm.MIRRORS[1]) for u in asked] == [False, True] * 4


def test_force_fetches_files_that_are_already_valid_again(data_env, archives,  # noqa: F811
                                                          monkeypatch) -> None:
    asked = serve(monkeypatch, lambda url: FakeResponse(archives[_name(url)]))
    target = fm.download(data_env / "target", progress=False)
    assert len(asked) == 4
    fm.download(target, progress=False)
    assert len(asked) == 4  # all valid: nothing fetched
    fm.download(target, progress=False, force=True)
    assert len(asked) == 8


def test_a_folder_holding_the_valid_files_needs_no_write(data_env, archives,  # noqa: F811
                                                         monkeypatch) -> None:
    # A read-only copy (a shared folder, a read-only mount) that is complete: nothing to
    # fetch, so nothing to write, and no "cannot write" refusal.
    serve(monkeypatch, lambda url: FakeResponse(archives[_name(url)]))
    target = fm.download(data_env / "target", progress=False)
    monkeypatch.setattr(fm, "write_problem", lambda folder: "read-only file system")
    assert fm.download(target, progress=False) == target
    (target / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(fm.DownloadError, match="cannot write in .*read-only file system"):
        fm.download(target, progress=False)


def test_each_request_has_the_time_limit(data_env, archives, monkeypatch) -> None:  # noqa: F811
    # Without one, a mirror that stops answering hangs the command for ever.
    limits = []

    def fake_open(url, timeout):
        limits.append(timeout)
        return FakeResponse(archives[_name(url)])

    monkeypatch.setattr(fm, "_open_url", fake_open)
    fm.download(data_env / "target", progress=False)
    assert limits == [fm.DOWNLOAD_TIMEOUT_S] * 4 and 0 < fm.DOWNLOAD_TIMEOUT_S < 600


def test_an_archive_as_large_as_the_largest_published_one_is_not_cut_off(
        data_env, archives, monkeypatch) -> None:  # noqa: F811
    # train-images-idx3-ubyte.gz is 26,421,880 bytes as published (Debian's: 26,421,856):
    # the size cap must let it through to its md5 check.
    size = 26_421_880
    serve(monkeypatch, lambda url: WholeChunks(bytes(size)))
    with pytest.raises(fm.DownloadError) as info:
        fm.download(data_env / "target", progress=False)
    assert "does not match the published" in str(info.value)
    assert "larger than any published file" not in str(info.value)


def test_a_request_names_cnnlab_and_carries_the_time_limit(monkeypatch) -> None:
    # Python's own User-Agent ("Python-urllib/3.x") is one some hosts refuse outright.
    seen = {}

    def fake_urlopen(request, timeout):
        seen.update(url=request.full_url, agent=request.get_header("User-agent"),
                    timeout=timeout)
        return "response"

    monkeypatch.setattr(fm.urllib.request, "urlopen", fake_urlopen)
    assert fm._open_url(fm.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz", 12.5) == "response"
    assert seen == {"url": fm.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz", "agent": "cnnlab",
                    "timeout": 12.5}
