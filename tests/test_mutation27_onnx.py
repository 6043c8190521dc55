"""load_onnx's checks of a graph against its sidecar, and of where its weights lie, on
a hand-made graph (no training, no torch export: a few milliseconds): sizes of another
export, a weights file the sidecar names but that is gone, weights pointing outside the
folder from inside an If branch, and the decoded size a sidecar may carry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.export import ExportError
from cnnlab.export_files import read_sidecar, sha256

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnnlab.onnx_run import OnnxRun, _check_external_data, load_onnx  # noqa: E402


def _graph():
    """images N x 1 x 4 x 4 -> logits N x 3 (flatten, then a 16 x 3 matrix)."""
    weight = numpy_helper.from_array(np.ones((16, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["images"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["logits"])], "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 1, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=8)


def _meta(path, **preprocess):
    return {"onnx_sha256": sha256(path), "format": "cnnlab-onnx", "classes": ["a", "b", "c"],
            "preprocess": {"channels": 1, "image_size": 4, "mean": None, "std": None,
                           **preprocess}}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "m.onnx"
    path.write_bytes(_graph().SerializeToString())
    return path


def _with_sidecar(model, tmp_path, meta):
    path = tmp_path / "m.onnx"
    path.write_bytes(model.read_bytes())
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_the_hand_made_export_loads_and_runs(model, tmp_path):
    import torch

    run = load_onnx(_with_sidecar(model, tmp_path, _meta(model)))
    assert run.classes == ["a", "b", "c"]
    assert run.model(torch.ones(2, 1, 4, 4)).tolist() == [[16.0] * 3] * 2


@pytest.mark.parametrize(("preprocess", "words"), [
    ({"image_size": 5}, "takes 1x4x4 inputs but its sidecar m.json prepares 1x5x5 ones"),
    ({"channels": 3}, "takes 1x4x4 inputs but its sidecar m.json prepares 3x4x4 ones")])
def test_a_sidecar_preparing_other_sizes_than_the_graph_takes_is_named(model, tmp_path,
                                                                       preprocess, words):
    with pytest.raises(ExportError, match=words):
        load_onnx(_with_sidecar(model, tmp_path, _meta(model, **preprocess)))


def test_a_weights_file_the_sidecar_names_but_that_is_gone_is_named(model, tmp_path):
    # (not a FileNotFoundError from the checksum: the pair is from different exports)
    meta = {**_meta(model), "onnx_data_sha256": "0" * 64}
    with pytest.raises(ExportError, match=r"m.onnx does not match its sidecar m.json"):
        load_onnx(_with_sidecar(model, tmp_path, meta))


def test_weights_outside_the_folder_inside_an_if_branch_are_refused(tmp_path):
    const = numpy_helper.from_array(np.ones(2, np.float32), "c")
    const.data_location, const.raw_data = TensorProto.EXTERNAL, b""
    entry = const.external_data.add()
    entry.key, entry.value = "location", "sub/../../secret.bin"  # climbs out, once normal
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]
    branch = helper.make_graph([helper.make_node("Constant", [], ["y"], value=const)],
                               "then", [], out)
    other = helper.make_graph([helper.make_node("Constant", [], ["y"], value_floats=[0, 0])],
                              "else", [], out)
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=other)], "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])], out)
    path = tmp_path / "if.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(ExportError, match=r"if.onnx: its weights 'c' point outside its folder"):
        _check_external_data(path)


@pytest.mark.parametrize(("size", "read"), [
    ([20, 30], (20, 30)), ([0, 30], None), ([-1, 5], None), ([True, 5], None),
    ([20.0, 30], None), ([20], None), ("20x30", None), (None, None)])
def test_the_decoded_size_is_read_only_when_it_is_two_positive_whole_numbers(size, read):
    run = OnnxRun(path=None, model=None, classes=[], preprocess=None,
                  meta={} if size is None else {"decoded_size": size})
    assert run.decoded_size == read


def test_a_json_file_saying_its_format_but_not_its_classes_is_no_sidecar(tmp_path):
    # The export replaces an earlier export's sidecar only: a user's file that merely
    # says "cnnlab-onnx" is kept (export refuses that --out).
    path = tmp_path / "m.json"
    for meta, ours in (({"format": "cnnlab-onnx"}, False),
                       ({"format": "cnnlab-onnx", "classes": []}, False),
                       ({"format": "cnnlab-onnx", "preprocess": {}}, False),
                       ({"format": "cnnlab-onnx", "classes": [], "preprocess": {}}, True)):
        path.write_text(json.dumps(meta), encoding="utf-8")
        assert (read_sidecar(path) is not None) is ours
