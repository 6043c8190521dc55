"""`cnnlab export` hands each option to export_run as typed, with the defaults its help
gives, and says an interrupt with the interrupt's status: the export itself is stood in
for, so no run is trained (mutation testing found these unchecked)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnnlab.export
from cnnlab.cli import app
from cnnlab.interrupts import interrupted_status

runner = CliRunner()


@pytest.fixture
def export_call(monkeypatch):
    got: dict = {}

    def export_run(run, fmt, **options):
        got.update(run=run, fmt=fmt, **options)
        raise ValueError("stood in")

    monkeypatch.setattr(cnnlab.export, "export_run", export_run)
    return got


def test_every_option_reaches_the_export(tmp_path, export_call):
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(out),
                                 "--which", "last", "--opset", "17", "--atol", "0.01",
                                 "--rtol", "0.001"])
    assert result.exit_code == 1, result.output
    assert {k: export_call[k] for k in ("fmt", "out", "which", "opset", "atol", "rtol")} == {
        "fmt": "onnx", "out": str(out), "which": "last", "opset": 17, "atol": 0.01,
        "rtol": 0.001}


def test_the_defaults_are_the_helps(tmp_path, export_call):
    runner.invoke(app, ["export", str(tmp_path / "run")])
    assert {k: export_call[k] for k in ("out", "which", "opset", "atol", "rtol")} == {
        "out": None, "which": "best", "opset": None, "atol": 1e-4, "rtol": 1e-5}


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_format_or_out_is_refused_before_the_export(tmp_path, export_call, blank):
    for option in ("--format", "--out"):
        result = runner.invoke(app, ["export", str(tmp_path / "run"), option, blank])
        assert result.exit_code == 2, result.output
        assert f"{option} {blank!r}" in result.stderr
    assert export_call == {}


def test_ctrl_c_ends_with_the_interrupts_status(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("nothing written")

    monkeypatch.setattr(cnnlab.export, "export_run", interrupted)
    result = runner.invoke(app, ["export", str(tmp_path / "run")])
    assert result.exit_code == interrupted_status() != 1
    assert "interrupted" in result.stderr and "nothing written" in result.stderr
