"""export_run from Python with the command line's names: ``format=`` as ``--format``, and
a keyword it does not take named as export_run's, not as a function never called."""

from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from cnnlab.export import ExportRequestError, export_run  # noqa: E402
from cnnlab.train import read_result  # noqa: E402


def test_format_is_taken_by_the_command_lines_name_and_a_result_as_its_run(tiny_run,
                                                                           tmp_path):
    # It was "TypeError: export_onnx() got an unexpected keyword argument 'format'".
    res = export_run(read_result(tiny_run), format="onnx", out=tmp_path / "m.onnx",
                     batch_sizes=(2,))
    assert res.path == tmp_path / "m.onnx" and res.path.is_file()
    again = export_run(tiny_run, "onnx", out=tmp_path / "m.onnx", batch_sizes=(2,))
    assert again.path == res.path  # positionally, as the CLI passes it
    older = export_run(tiny_run, fmt="onnx", out=tmp_path / "f.onnx", batch_sizes=(2,))
    assert older.path.is_file()  # fmt=, its earlier name, still taken


def test_wrong_keywords_are_named_as_export_runs(tiny_run):
    with pytest.raises(TypeError, match=r"^export_run\(\) has no keyword 'fromat': it takes "
                                        r"format and out, which, atol, opset, batch_sizes"):
        export_run(tiny_run, fromat="onnx")
    with pytest.raises(ExportRequestError, match="fmt is format's earlier name; give format"):
        export_run(tiny_run, format="onnx", fmt="tflite")
    with pytest.raises(ExportRequestError, match=r"'tflite' \(--format, format=\).*: onnx"):
        export_run(tiny_run, format="tflite")
    with pytest.raises(TypeError, match="^export_run takes a run's folder"):
        export_run(None)
