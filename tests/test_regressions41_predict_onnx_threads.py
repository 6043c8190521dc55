"""`cnnlab predict RUN.onnx --threads N` past the cores the process may use says so:
onnxruntime's threads spin as they wait, and 32 of them on 2 cores classified 27 times
slower than one (--threads 1024 took 309 s for 60 images, 18 s with 1)."""

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

pytest.importorskip("onnxruntime")
from test_mutation39_predict_threads import graph_and_photo  # noqa: E402, F401, F811


@pytest.mark.parametrize("threads", [2, 3])
def test_predict_onnx_warns_of_more_threads_than_cores(graph_and_photo, monkeypatch,  # noqa: F811
                                                         threads):
    import cnnlab.cli.predict as cli_predict

    onnx, photo = graph_and_photo
    monkeypatch.setattr(cli_predict, "_cores", lambda: 2)
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo),
                                      "--threads", str(threads)])
    assert result.exit_code == 0 and "dot.png" in result.output, result.output
    said = " ".join(result.output.split())
    assert ("this machine gives it 2 cores" in said) == (threads > 2), said
