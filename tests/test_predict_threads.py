"""`cnnlab predict --threads N`, as `cnnlab eval` takes it (a newcomer copying
`--threads 1` from eval got "No such option"): torch's threads while it reads and
classifies, put back after; an .onnx file's onnxruntime session on N threads."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.export import export_run
from cnnlab.train import predict
from cnnlab.train.predict import open_for_prediction


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "shirt.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8)
                    ).save(path)
    return path


def test_the_run_classifies_on_the_threads_asked_and_they_are_put_back(tiny_run, photo,
                                                                        monkeypatch):
    ranked, seen = predict._ranked, []
    monkeypatch.setattr(predict, "_ranked", lambda *a, **k: (
        seen.append(torch.get_num_threads()), ranked(*a, **k))[1])
    before = torch.get_num_threads()
    result = CliRunner().invoke(app, ["predict", str(tiny_run), str(photo),
                                      "--threads", str(before + 1)])
    assert result.exit_code == 0, result.output
    assert seen == [before + 1] and torch.get_num_threads() == before
    result = CliRunner().invoke(app, ["predict", str(tiny_run), str(photo), "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output, result.output


def test_an_onnx_session_runs_on_the_threads_asked(tiny_run, photo, tmp_path):
    pytest.importorskip("onnxruntime")
    onnx = export_run(tiny_run, format="onnx", out=tmp_path / "m.onnx", batch_sizes=(1,)).path
    opened = open_for_prediction(onnx, threads=1)
    assert opened.model.session.get_session_options().intra_op_num_threads == 1
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), "--threads", "1"])
    assert result.exit_code == 0 and "shirt.png" in result.output, result.output


@pytest.mark.parametrize("threads", [2.5, 0, -1, True, "2"])
def test_threads_not_a_count_are_refused_as_the_callers_not_blamed_on_the_file(tmp_path,
                                                                                threads):
    # onnxruntime refused 2.5 inside the loader, read as "cannot load it ... export again"
    with pytest.raises(ValueError, match=rf"threads={threads!r}: a whole number"):
        open_for_prediction(tmp_path / "m.onnx", threads=threads)
