"""`cnnlab data info`'s memory column writes a split's size as every size is written
(format_bytes): a small folder's split read "0.0 MiB", as if it held nothing."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app


def test_a_small_folders_memory_is_not_zero(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    for name in ("a", "b"):
        (tmp_path / "ph" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (30, 30), (40 * i, 90, 9)).save(tmp_path / "ph" / name / f"{i}.png")
    result = CliRunner().invoke(app, ["data", "info", f"folder:{tmp_path / 'ph'}",
                                      "--image-size", "24"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "0.0 MiB" not in result.output
    # 6 training images of 3 x 24 x 24 bytes, 2 held out: 10,368 and 3,456 bytes
    assert "10.1 KiB" in result.output and "3.38 KiB" in result.output, result.output


def test_fashion_sized_splits_read_as_before():
    from cnnlab.formatting import format_bytes

    assert format_bytes(60_000 * 784) == "44.9 MiB"  # as "44.9 MiB" was written
    assert format_bytes(10_000 * 784) == "7.48 MiB"
