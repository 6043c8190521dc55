"""`cnnlab predict RUN.onnx` on a hand-made graph: --threads N opens onnxruntime's
session on N threads (the threads test saw open_for_prediction take them, not the
command hand them on) and none past MAX_THREADS; --which and --device are said to
do nothing for an .onnx file; the table shows probabilities in percent."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app

pytest.importorskip("onnxruntime")
from test_mutation27_onnx import _graph, _meta, _with_sidecar  # noqa: E402

from cnnlab import onnx_run  # noqa: E402


@pytest.fixture
def graph_and_photo(tmp_path):
    """A hand-made .onnx graph with its sidecar, and a 4x4 grey image to classify."""
    model = tmp_path / "graph.onnx"
    model.write_bytes(_graph().SerializeToString())
    onnx = _with_sidecar(model, tmp_path, _meta(model))
    photo = tmp_path / "dot.png"
    Image.fromarray(np.full((4, 4), 9, np.uint8)).save(photo)
    return onnx, photo


@pytest.mark.parametrize(("flag", "threads"), [(["--threads", "1"], 1), ([], 0)])
def test_predict_opens_the_onnx_session_on_the_threads_asked(graph_and_photo, monkeypatch,
                                                              flag, threads):
    onnx, photo = graph_and_photo
    opened, load = [], onnx_run.load_onnx
    monkeypatch.setattr(onnx_run, "load_onnx", lambda *a, **k: (
        opened.append(load(*a, **k)), opened[-1])[1])
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), *flag])
    assert result.exit_code == 0 and "dot.png" in result.output, result.output
    options = opened[0].model.session.get_session_options()
    assert options.intra_op_num_threads == threads  # 0: onnxruntime's own choice


def test_predict_refuses_more_threads_than_a_machine_has(tmp_path):
    """As train's config refuses them (torch would start them all: 10,000 threads)."""
    from cnnlab.train.config import MAX_THREADS

    result = CliRunner().invoke(app, ["predict", str(tmp_path), str(tmp_path),
                                      "--threads", str(MAX_THREADS + 1)])
    assert result.exit_code == 2 and "--threads" in result.output, result.output


def test_which_and_device_given_for_an_onnx_file_are_said_to_do_nothing(graph_and_photo):
    onnx, photo = graph_and_photo
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), "--which", "last",
                                      "--device", "cuda"])
    assert result.exit_code == 0 and "dot.png" in result.output, result.output
    said = " ".join(result.output.split())
    assert "--which last has no effect on an .onnx file" in said, said
    assert "--device cuda has no effect on an .onnx file" in said, said
    plain = CliRunner().invoke(app, ["predict", str(onnx), str(photo)])
    assert plain.exit_code == 0 and "no effect" not in plain.output, plain.output


def test_the_table_shows_each_class_with_its_probability_in_percent(graph_and_photo):
    """(The hand-made graph scores its three classes alike: a third each.)"""
    onnx, photo = graph_and_photo
    result = CliRunner().invoke(app, ["predict", str(onnx), str(photo), "--no-tta"])
    assert result.exit_code == 0, result.output
    assert all(f"{name} 33.3%" in result.output for name in "abc"), result.output
