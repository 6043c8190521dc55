"""`cnnlab export RUN --format onnx`: dynamic batch, checked against PyTorch with
onnxruntime as part of the command; `cnnlab predict` on the exported file.

Tests that run ONNX need the optional extra (onnx, onnxruntime, onnxscript) and skip
without it; the missing-extra error is tested everywhere.
"""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
import torch
from export_helpers import needs_onnx, no_export, tiny_trained_run
from PIL import Image
from typer.testing import CliRunner

from cnnlab import export as export_mod
from cnnlab.cli import app
from cnnlab.export import ExportError, export_onnx, export_run
from cnnlab.extras import MissingExtraError
from cnnlab.onnx_run import load_onnx
from cnnlab.train.predict import predict_images
from cnnlab.train.run import load_run

torch.set_num_threads(1)
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_trained_run(tmp_path_factory)




@pytest.fixture(scope="module")
def exported(run_dir):
    needs_onnx()
    result = runner.invoke(app, ["export", str(run_dir), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    return run_dir / "export" / "model.onnx", result.output


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 30), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_export_command_verifies_against_pytorch(exported, run_dir):
    path, output = exported
    diffs = [float(d) for d in re.findall(r"batch \d: ([0-9.e+-]+)", output)]
    assert len(diffs) == 3 and max(diffs) < 1e-4, output
    assert "verified with onnxruntime" in output
    assert re.search(r"max \|diff\| vs PyTorch \d\.\d\de-\d\d <= \d\.\d\de-\d\d ", output), output
    meta = json.loads(path.with_suffix(".json").read_text())
    run = load_run(run_dir)
    assert meta["classes"] == run.classes and meta["model"] == "lenet_modern"
    assert meta["preprocess"]["mean"] == pytest.approx(run.preprocess.mean)
    assert meta["input"]["shape"] == ["batch", 1, 28, 28]
    assert meta["tta"] == {"flip": True, "shift": 1}


def test_exported_batch_axis_is_dynamic(exported, run_dir):
    import onnxruntime as ort

    path, _ = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"
    model = load_run(run_dir).model
    x = torch.randn(7, 1, 28, 28)  # a size the export never saw
    got = session.run(None, {"images": x.numpy()})[0]
    with torch.no_grad():
        assert np.abs(got - model(x).numpy()).max() < 1e-4


def test_predict_on_onnx_file_matches_the_run(exported, run_dir, images):
    path, _ = exported
    from_run = predict_images(run_dir, images, top_k=3)
    from_onnx = predict_images(path, images, top_k=3)
    for (p1, ranked1), (p2, ranked2) in zip(from_run, from_onnx, strict=True):
        assert p1 == p2
        assert [c for c, _ in ranked1] == [c for c, _ in ranked2]
        assert [p for _, p in ranked1] == pytest.approx([p for _, p in ranked2], abs=1e-5)
    result = runner.invoke(app, ["predict", str(path), str(images[0]), "--top-k", "2"])
    assert result.exit_code == 0, result.output
    assert from_run[0][1][0][0] in result.output
    assert "test-time augmentation as the run evaluated: mirror + shifts of 1 px" in " ".join(
        result.output.split())
    assert "has no effect" not in result.output
    # --which picks a checkpoint of a run; an .onnx file holds one already: said, not ignored.
    result = runner.invoke(app, ["predict", str(path), str(images[0]), "--which", "last"])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "--which last has no effect on an .onnx file: it holds" in words
    assert "best.safetensors" in words


def test_export_to_chosen_path_and_last_checkpoint(run_dir, tmp_path):
    needs_onnx()
    out = tmp_path / "lenet.onnx"
    res = export_run(run_dir, "onnx", out=out, which="last", batch_sizes=(2, 3))
    assert res.path == out and out.is_file() and res.sidecar == tmp_path / "lenet.json"
    assert set(res.max_abs_diff) == {2, 3} and res.worst_diff < 1e-4
    assert res.opset is not None and load_onnx(out).classes == res.classes


def test_file_that_disagrees_with_pytorch_is_deleted(run_dir, tmp_path, monkeypatch):
    needs_onnx()
    monkeypatch.setattr(export_mod, "verify_onnx", lambda *a, **k: {2: 0.5, 3: 0.1})
    out = tmp_path / "new" / "deeper" / "bad.onnx"
    with pytest.raises(ExportError, match=r"disagrees with PyTorch by up to 0\.5 .*logits reach"):
        export_onnx(run_dir, out=out)
    # Nothing left, not even temporary files or the folders made for the export (it took
    # away only the innermost one, and left new/).
    assert list(tmp_path.iterdir()) == []


def test_failed_re_export_keeps_the_previous_export(run_dir, tmp_path, monkeypatch):
    needs_onnx()
    out = tmp_path / "model.onnx"
    export_onnx(run_dir, out=out, batch_sizes=(2,))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"model.onnx", "model.json"}
    monkeypatch.setattr(export_mod, "verify_onnx", lambda *a, **k: {2: 0.5})
    with pytest.raises(ExportError, match=r"previous .*model\.onnx is untouched"):
        export_onnx(run_dir, out=out, atol=0)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert load_onnx(out).classes  # still usable by predict


def test_negative_tolerance_is_refused(run_dir, tmp_path):
    needs_onnx()
    with pytest.raises(ExportError, match=r"--atol -1: .* must be >= 0"):
        export_onnx(run_dir, out=tmp_path / "m.onnx", atol=-1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("opset", [3, 99])
def test_opset_the_exporter_does_not_support_is_refused_up_front(run_dir, tmp_path,
                                                                  monkeypatch, opset):
    needs_onnx()
    monkeypatch.setattr(export_mod, "_export", no_export)
    with pytest.raises(ExportError, match=rf"--opset {opset} is not supported .*from \d+ to \d+"):
        export_onnx(run_dir, out=tmp_path / "m.onnx", opset=opset)
    result = runner.invoke(app, ["export", str(run_dir), "--opset", str(opset)])
    assert result.exit_code == 2 and "choose an opset from" in result.output


def test_export_at_another_opset_than_asked_is_refused(run_dir, tmp_path, monkeypatch):
    """The exporter keeps its own opset when it cannot convert (it only logs that)."""
    needs_onnx()
    monkeypatch.setattr(export_mod, "_opset_of", lambda path: 18)
    with pytest.raises(ExportError, match="could not convert lenet_modern to opset 17 .*18"):
        export_onnx(run_dir, out=tmp_path / "m.onnx", opset=17, batch_sizes=(2,))
    assert list(tmp_path.iterdir()) == []


def test_output_path_that_cannot_be_a_file_is_refused_up_front(run_dir, tmp_path,
                                                               monkeypatch):
    needs_onnx()
    monkeypatch.setattr(export_mod, "_export", no_export)
    (tmp_path / "afile").write_text("keep me")
    with pytest.raises(ExportError, match=r"afile is a file, not a folder"):
        export_onnx(run_dir, out=tmp_path / "afile" / "x.onnx")
    (tmp_path / "d.onnx").mkdir()
    with pytest.raises(ExportError, match=r"d\.onnx is a folder.*--out .*model\.onnx"):
        export_onnx(run_dir, out=tmp_path / "d.onnx")
    (tmp_path / "ex").mkdir()  # a folder without a suffix: told it should end in .onnx
    with pytest.raises(ExportError, match=r"ex is a folder.*--out .*ex/model\.onnx"):
        export_onnx(run_dir, out=tmp_path / "ex")
    (tmp_path / "m.json").mkdir()  # where the sidecar would go
    with pytest.raises(ExportError, match=r"m\.json is a folder"):
        export_onnx(run_dir, out=tmp_path / "m.onnx")
    result = runner.invoke(app, ["export", str(run_dir), "--out",
                                 str(tmp_path / "afile" / "x.onnx")])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert (tmp_path / "afile").read_text() == "keep me"
    # A file given as the run is named as such, not as a place its default --out cannot go.
    result = runner.invoke(app, ["export", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "afile is a file, not a run's folder" in " ".join(
        result.output.split()), result.output


def test_unknown_format_and_missing_sidecar_are_clear(run_dir, tmp_path):
    with pytest.raises(ExportError, match="formats: onnx"):
        export_run(run_dir, "tflite")
    lonely = tmp_path / "model.onnx"
    lonely.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="cnnlab export RUN --format onnx"):
        load_onnx(lonely)


def test_a_damaged_onnx_file_or_a_sidecar_of_another_export_is_named(exported, tmp_path,
                                                                      images):
    import shutil

    model, _ = exported
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(model.read_bytes()[:200])  # cut short
    shutil.copy(model.with_suffix(".json"), damaged.with_suffix(".json"))
    with pytest.raises(ExportError, match=r"damaged.onnx does not match its sidecar "
                                          r"damaged.json \(the checksum differs\)"):
        load_onnx(damaged)
    unchecked = json.loads(damaged.with_suffix(".json").read_text())
    unchecked.pop("onnx_sha256")  # an export made before the checksum: onnxruntime says
    damaged.with_suffix(".json").write_text(json.dumps(unchecked))
    with pytest.raises(ExportError, match=r"damaged.onnx: onnxruntime cannot load it"):
        load_onnx(damaged)
    mixed = tmp_path / "mixed.onnx"
    shutil.copy(model, mixed)
    meta = json.loads(model.with_suffix(".json").read_text())
    meta["classes"] = meta["classes"][:2]  # the sidecar of a 2-class export
    meta.pop("onnx_sha256")  # as an export made before the checksum
    mixed.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ExportError, match=r"gives 10 scores but its sidecar mixed.json names 2"):
        load_onnx(mixed)
    # Same classes, another graph (a crash between the two renames of a re-export):
    other = json.loads(model.with_suffix(".json").read_text())
    mixed.write_bytes(model.read_bytes() + b"\x00")  # not the graph its sidecar was made for
    mixed.with_suffix(".json").write_text(json.dumps(other))
    with pytest.raises(ExportError, match=r"mixed.onnx does not match its sidecar"):
        load_onnx(mixed)
    shutil.copy(model, mixed)
    result = runner.invoke(app, ["predict", str(damaged), str(images[0])])
    assert result.exit_code == 1 and "onnxruntime cannot load it" in result.output
    assert "Traceback" not in result.output
    # Another export's sizes, or values no image survives: a raw onnxruntime traceback,
    # or every image "unreadable" one by one.
    mixed.with_suffix(".json").write_text(json.dumps(
        {**meta, "classes": other["classes"], "preprocess": {**meta["preprocess"],
                                                              "image_size": 32}}))
    with pytest.raises(ExportError, match=r"takes 1x28x28 inputs but its sidecar mixed.json "
                                          r"prepares 1x32x32 ones"):
        load_onnx(mixed)
    std = {**meta["preprocess"], "std": [0.0]}
    for bad, words in (([1, 2], "not a JSON object"), ({**meta, "tta": {"shift": None}},
                                                          "tta is {'shift': None}"),
                       ({**meta, "tta": {"shift": 99}}, "tta_shift=99 does not fit"),
                       ({**meta, "preprocess": std}, "std is [0.0]: every one must be")):
        mixed.with_suffix(".json").write_text(json.dumps(bad))
        with pytest.raises(ExportError, match=r"mixed.json: not a cnnlab ONNX sidecar"):
            load_onnx(mixed)
        result = runner.invoke(app, ["predict", str(mixed), str(images[0])])
        assert result.exit_code == 1 and words in result.output, result.output


def test_missing_extra_names_the_pip_command(run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'cnnlab\[onnx\]'"):
        export_onnx(run_dir)
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 1 and "cnnlab[onnx]" in result.output


@pytest.mark.slow
def test_fine_tuned_torchvision_run_exports_and_predicts(tmp_path, monkeypatch, images):
    """The issue's path: tv weights file -> fine-tune on a folder -> ONNX -> predict."""
    needs_onnx()
    import torchvision

    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for name, level in (("dark", 60), ("light", 190)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(4):
            pixels = np.clip(level + rng.normal(0, 30, (20, 20, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / name / f"{i}.png")
    torch.manual_seed(0)
    weights = tmp_path / "resnet18.pth"
    # Zero-init residuals keep an untrained ResNet's logits small, as trained weights do.
    torch.save(torchvision.models.resnet18(zero_init_residual=True).state_dict(), weights)
    result = runner.invoke(app, [
        "train", "tv:resnet18", "--weights", str(weights), "--data",
        f"folder:{tmp_path / 'data'}", "--resize", "32", "--epochs", "1", "--batch-size", "4",
        "--lr", "0.01", "--backbone-lr-scale", "0.1", "--device", "cpu", "--quiet",
        "--out-dir", str(tmp_path / "runs"), "--run-name", "ft"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "ft"
    result = runner.invoke(app, ["export", str(run), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    onnx_file = run / "export" / "model.onnx"
    from_run = predict_images(run, images[:1], top_k=2)
    from_onnx = predict_images(onnx_file, images[:1], top_k=2)
    assert [c for c, _ in from_run[0][1]] == [c for c, _ in from_onnx[0][1]]
    assert [p for _, p in from_run[0][1]] == pytest.approx([p for _, p in from_onnx[0][1]],
                                                          abs=1e-5)


def test_an_opset_below_what_torch_export_writes_comes_from_the_torchscript_exporter(
        run_dir, tmp_path):
    """torch.export's exporter keeps opset 18 when asked for 13; the older one writes 13."""
    needs_onnx()
    result = export_onnx(run_dir, out=tmp_path / "m13.onnx", opset=13, batch_sizes=(2,))
    assert result.opset == 13 and max(result.max_abs_diff.values()) < 1e-4
    assert export_mod._opset_of(tmp_path / "m13.onnx") == 13


def test_a_run_on_from_scratch_fft_layers_exports_as_standard_layers(tmp_path):
    """FFT convolution does not lower to ONNX; the same weights in PyTorch's layers do."""
    needs_onnx()
    result = runner.invoke(app, [
        "train", "lenet_d2l", "--data", "synthetic", "--device", "cpu", "--quiet",
        "--epochs", "1", "--batch-size", "64", "--scratch-ops", "fft",
        "--out-dir", str(tmp_path), "--run-name", "fft"])
    assert result.exit_code == 0, result.output
    res = export_run(tmp_path / "fft", "onnx", batch_sizes=(2,))
    assert max(res.max_abs_diff.values()) < 1e-4
    trained_on = load_run(tmp_path / "fft")  # its own FFT layers
    x = torch.randn(3, 1, 28, 28)
    import onnxruntime as ort

    session = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = trained_on.model(x).numpy()
    assert np.abs(session.run(None, {"images": x.numpy()})[0] - expected).max() < 1e-4


def _tiny_graph(external_location: str | None, constant: bool = False):
    """y = x @ w, w a 2x2 initializer (or a Constant node's value), optionally marked as
    kept in an external file at ``external_location``."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    if constant:
        nodes.insert(0, helper.make_node("Constant", [], ["w"], value=weight))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [] if constant else [weight])
    model = helper.make_model(graph)
    if external_location is not None:
        tensor = model.graph.node[0].attribute[0].t if constant else model.graph.initializer[0]
        tensor.data_location, tensor.raw_data = TensorProto.EXTERNAL, b""
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", external_location
    return model


@pytest.mark.parametrize("constant", [False, True])
def test_weights_kept_outside_the_models_folder_are_refused(tmp_path, constant):
    pytest.importorskip("onnx")
    from cnnlab.onnx_run import _check_external_data

    model = tmp_path / "m.onnx"
    # Written as bytes: onnx.save itself refuses to write such a location.
    model.write_bytes(_tiny_graph("../secret.bin", constant).SerializeToString())
    with pytest.raises(ExportError, match=r"m.onnx: its weights 'w' point outside its "
                                          r"folder \('../secret.bin'\)"):
        _check_external_data(model)


def test_weights_hidden_in_a_function_or_a_sparse_initializer_are_checked(tmp_path):
    pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from cnnlab.onnx_run import _check_external_data

    def outside(tensor):
        tensor.data_location, tensor.raw_data = TensorProto.EXTERNAL, b""
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "../secret.bin"
        return tensor

    io = ([helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    const = outside(numpy_helper.from_array(np.ones((2, 2), np.float32), "c"))
    function = helper.make_function(
        "local", "F", ["x"], ["y"], [helper.make_node("Constant", [], ["w"], value=const),
                                     helper.make_node("MatMul", ["x", "w"], ["y"])],
        [helper.make_opsetid("", 18)])
    in_function = helper.make_model(
        helper.make_graph([helper.make_node("F", ["x"], ["y"], domain="local")], "g", *io),
        functions=[function],
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("local", 1)])
    sparse = helper.make_sparse_tensor(
        outside(numpy_helper.from_array(np.ones(2, np.float32), "s")),
        numpy_helper.from_array(np.array([0, 3], np.int64), "i"), [2, 2])
    in_sparse = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g", *io, sparse_initializer=[sparse]))
    for name, model in (("function", in_function), ("sparse", in_sparse)):
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        with pytest.raises(ExportError, match="point outside its folder"):
            _check_external_data(path)


def test_weights_beside_the_model_by_a_symlink_pass_cnnlabs_own_check(tmp_path):
    # Judged by name (onnxruntime, in recent releases, resolves the link itself; load_onnx
    # then says the weights resolve outside the folder).
    pytest.importorskip("onnx")
    from cnnlab.onnx_run import _check_external_data

    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "123").write_bytes(b"\x00" * 16)
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "m.onnx.data").symlink_to(tmp_path / "blobs" / "123")
    model = tmp_path / "snap" / "m.onnx"
    model.write_bytes(_tiny_graph("m.onnx.data").SerializeToString())
    _check_external_data(model)


def test_weights_kept_beside_an_export_are_checked_too(run_dir, tmp_path, monkeypatch):
    # A crash between the renames of a re-export could pair old graph and sidecar with
    # new weights: the sidecar's checksum of the weights file names it.
    needs_onnx()
    import inspect

    import cnnlab.export as export

    if "external_data" not in inspect.signature(torch.onnx.export).parameters:
        pytest.skip("torch < 2.5: torch.onnx.export takes no external_data, so cnnlab "
                    "exports with TorchScript's exporter, which splits only past 2 GB")
    monkeypatch.setattr(export, "_EXTERNAL_DATA_BYTES", 0)  # weights beside the graph
    out = tmp_path / "export" / "big.onnx"  # the blob store below lies outside it
    export.export_onnx(run_dir, out=out)
    data = out.with_name("big.onnx.data")
    assert data.is_file() and "onnx_data_sha256" in json.loads(out.with_suffix(".json").read_text())
    load_onnx(out)
    good = data.read_bytes()
    data.write_bytes(good[:-4] + b"\x00\x00\x80\x3f")
    with pytest.raises(ExportError, match=r"big.onnx does not match its sidecar"):
        load_onnx(out)
    # The right weights, but linked from a blob store outside the folder (DVC-style):
    # recent onnxruntime refuses them, and the message says why, not "export again".
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "123").write_bytes(good)
    data.unlink()
    data.symlink_to(tmp_path / "blobs" / "123")
    with pytest.raises(ExportError, match="resolves outside the model's folder"):
        load_onnx(out)
