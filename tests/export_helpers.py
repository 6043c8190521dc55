"""What the export tests share: the extras check, a tiny trained run, a stand-in exporter."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


def needs_onnx() -> None:
    for module in ("onnx", "onnxruntime", "onnxscript"):
        pytest.importorskip(module)


def tiny_trained_run(tmp_path_factory):
    """A tiny trained run (LeNet on synthetic 28x28 data, normalised inputs, evaluated
    with test-time mirror and shift views, which predict on the export must repeat)."""
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, [
        "train", "lenet_modern", "--data", "synthetic", "--device", "cpu", "--quiet",
        "--epochs", "1", "--batch-size", "64", "--normalize", "--tta-flip", "--tta-shift", "1",
        "--out-dir", str(out), "--run-name", "lenet"])
    assert result.exit_code == 0, result.output
    return out / "lenet"


def no_export(*args, **kwargs):
    raise AssertionError("the export should have been refused before exporting")
