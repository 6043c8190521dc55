"""What `cnnlab export` and `cnnlab predict FILE.onnx` say when the request, not the work,
is wrong, and when Ctrl-C comes while the ONNX libraries load: an --out that names a
folder, an .onnx file without its sidecar, an interrupt that a library turned into an
error of its own."""

from __future__ import annotations

import signal

import pytest
from export_helpers import needs_onnx, no_export, tiny_trained_run
from typer.testing import CliRunner

from cnnlab import export as export_mod
from cnnlab import onnx_run
from cnnlab.cli import app
from cnnlab.export import ExportError, export_onnx
from cnnlab.onnx_run import load_onnx

runner = CliRunner()

# Python's own SIGINT handler, as `cnnlab export` has it (see the fixture in conftest).
pytestmark = pytest.mark.usefixtures("pythons_ctrl_c")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_trained_run(tmp_path_factory)


def test_an_out_ending_in_a_slash_is_a_folder_and_refused(run_dir, tmp_path, monkeypatch):
    # pathlib drops the slash: `--out x.onnx/` (a folder meant) wrote a file x.onnx.
    needs_onnx()
    monkeypatch.setattr(export_mod, "_export", no_export)
    meant = tmp_path / "x.onnx"
    result = runner.invoke(app, ["export", str(run_dir), "--out", f"{meant}/"])
    words = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert f"--out {meant}/ ends in '/', so it names a folder" in words
    assert f"--out {meant / 'model.onnx'}" in words  # the fix, spelled out
    assert list(tmp_path.iterdir()) == []  # nothing written, no folder made
    with pytest.raises(ExportError, match="names a folder"):
        export_onnx(run_dir, out=f"{meant}/")


def test_an_onnx_file_without_its_sidecar_is_refused_as_a_missing_onnx_file_is(
        tmp_path):
    # Both are a path that is no cnnlab export: the same exit status (2), where a missing
    # sidecar gave 1 and a missing .onnx file 2.
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    missing = runner.invoke(app, ["predict", str(tmp_path / "nope.onnx"), str(image)])
    lonely = tmp_path / "model.onnx"
    lonely.write_bytes(b"")
    no_sidecar = runner.invoke(app, ["predict", str(lonely), str(image)])
    assert missing.exit_code == no_sidecar.exit_code == 2, no_sidecar.output
    assert "model.json is missing" in no_sidecar.output
    assert "cnnlab export RUN --format onnx" in " ".join(no_sidecar.output.split())
    with pytest.raises(FileNotFoundError, match="model.json is missing"):  # as before
        load_onnx(lonely)


def _interrupted_then_another_error(*args, **kwargs):
    """An import that Ctrl-C interrupts and that ends in another error: ml_dtypes, cut
    off while `import onnx` loads it, sends numpy's lazy attributes into a recursion."""
    try:
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # Ctrl-C, as Python takes it
    except KeyboardInterrupt:
        pass
    raise RecursionError("maximum recursion depth exceeded")


def test_ctrl_c_while_the_onnx_libraries_load_ends_the_export_as_interrupted(
        run_dir, tmp_path, monkeypatch):
    needs_onnx()
    monkeypatch.setattr(export_mod, "require_extra", _interrupted_then_another_error)
    out = tmp_path / "m.onnx"
    with pytest.raises(KeyboardInterrupt):
        export_onnx(run_dir, out=out)
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, RecursionError)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_predict_loads_onnxruntime_is_an_interrupt(run_dir, tmp_path,
                                                               monkeypatch):
    needs_onnx()
    exported = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "m.onnx")])
    assert exported.exit_code == 0, exported.output
    monkeypatch.setattr(onnx_run, "OnnxModel", _interrupted_then_another_error)
    with pytest.raises(KeyboardInterrupt):  # not "onnxruntime cannot load it (maximum
        load_onnx(tmp_path / "m.onnx")       # recursion depth exceeded)"
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    result = runner.invoke(app, ["predict", str(tmp_path / "m.onnx"), str(image)])
    assert result.exit_code == 130 and "cannot load" not in result.output, result.output


def test_the_tolerance_grows_with_the_logits(run_dir, tmp_path, monkeypatch):
    # Logits near 2e4 are off by ~0.006 in float32 (relative 3e-7): a correct export,
    # refused by the absolute 1e-4 alone, until the user found --atol.
    needs_onnx()
    monkeypatch.setattr(export_mod, "verify_onnx", lambda *a, **k: {2: 0.006, 3: 0.005})
    monkeypatch.setattr(export_mod, "logit_scale", lambda *a, **k: 2e4)
    res = export_onnx(run_dir, out=tmp_path / "big.onnx", batch_sizes=(2, 3))
    assert res.tolerance == pytest.approx(1e-4 + 1e-5 * 2e4)
    assert load_onnx(res.path).classes == res.classes
    with pytest.raises(ExportError, match=r"> --atol 0.0001 \+ --rtol 0 x 2e\+04.*--rtol"):
        export_onnx(run_dir, out=tmp_path / "strict.onnx", batch_sizes=(2, 3), rtol=0)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--out",
                                      str(tmp_path / "cli.onnx"), "--rtol", "-1"])
    assert result.exit_code == 2 and "--rtol -1: a tolerance must be >= 0" in result.output
