"""`cnnlab predict RUN.onnx --threads 2` on one core says "1 core" and asks for
--threads 1 (it said "1 cores" and "--threads 1 or fewer", fewer than 1 being refused)."""

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

pytest.importorskip("onnxruntime")
from test_mutation39_predict_threads import graph_and_photo  # noqa: E402, F401, F811


def test_one_core_is_said_in_the_singular(graph_and_photo, monkeypatch):  # noqa: F811
    import cnnlab.cli.predict as cli_predict

    onnx, photo = graph_and_photo
    monkeypatch.setattr(cli_predict, "_cores", lambda: 1)
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), "--threads", "2"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "gives it 1 core:" in said and said.count("--threads 1") == 1, said
    assert "or fewer" not in said and "1 cores" not in said, said
