"""When the torch.export-based ONNX exporter fails and the TorchScript one writes the
model, what torch printed and logged as the first failed (~60 lines of partial graphs and
symbolic-shape warnings, before cnnlab's summary) is kept from the user; it is shown when
both fail, and the CLI's spinner keeps drawing on the real stderr meanwhile."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab import export
from cnnlab.export import ExportError
from cnnlab.interrupts import SigintRecorder

DUMP = "class GraphModule(torch.nn.Module):\n    def forward(self, arg0_1):\n"


def fake_exporters(monkeypatch, torchscript_fails: bool) -> None:
    """torch.onnx.export as it behaves for a model with a data-dependent `if`: the
    torch.export-based one prints progress, logs, prints the partial graph and raises."""
    def fake(model, args, f, *, dynamo, **kwargs):
        if dynamo:
            print("[torch.onnx] Obtain model graph ... ❌")
            logging.getLogger("torch.fx.experimental.symbolic_shapes").warning(
                "Unable to find user code corresponding to {u0}")
            print(DUMP, file=sys.stderr)
            raise RuntimeError("Could not guard on data-dependent expression Eq(u0, 1)")
        if torchscript_fails:
            raise RuntimeError("TorchScript could not script it")

    monkeypatch.setattr(torch.onnx, "export", fake)


def run_export(tmp_path: Path) -> str:
    with SigintRecorder() as sigint:
        return export._export(nn.Linear(4, 2), (1, 2, 2), tmp_path / "m.onnx", None, sigint)


def test_a_fallback_that_works_keeps_torchs_output_from_the_user(tmp_path, monkeypatch,
                                                                 capsys, caplog):
    fake_exporters(monkeypatch, torchscript_fails=False)
    assert run_export(tmp_path) == "torchscript"
    said = capsys.readouterr()
    assert (said.out, said.err) == ("", ""), said
    assert not [r for r in caplog.records if r.name.startswith("torch")]
    assert logging.getLogger("torch.fx").level == logging.NOTSET  # put back


def test_when_both_fail_torchs_account_is_shown_before_the_error(tmp_path, monkeypatch,
                                                                 capsys):
    fake_exporters(monkeypatch, torchscript_fails=True)
    with pytest.raises(ExportError, match="data-dependent expression.*\n.*TorchScript"):
        run_export(tmp_path)
    said = capsys.readouterr()
    assert DUMP in said.err and "Obtain model graph" not in said.out + said.err


def test_the_spinner_keeps_the_real_stderr_while_the_exporter_swaps_it(monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app
    from cnnlab.cli.messages import err

    seen = []

    def fake_export_run(*args, **kwargs):
        real = sys.stderr
        with contextlib.redirect_stderr(io.StringIO()):  # as quiet_exporter does
            seen.append(err.file is real)
        raise ExportError("stopped here")

    monkeypatch.setattr(export, "export_run", fake_export_run)
    result = CliRunner().invoke(app, ["export", "somewhere"])
    assert seen == [True] and "stopped here" in result.output, result.output
    assert err.file is sys.stderr  # unpinned: sys.stderr at each print again
