"""An export never lands over files that are not an earlier export's, Ctrl-C stops it (no
fallback to the other exporter), and a folder it may not write in is named."""

from __future__ import annotations

import json

import pytest
import torch
from export_helpers import needs_onnx, no_export, tiny_trained_run
from typer.testing import CliRunner

from cnnlab import export as export_mod
from cnnlab.cli import app
from cnnlab.export import ExportError, export_onnx
from cnnlab.onnx_run import load_onnx

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_trained_run(tmp_path_factory)


# Python's own SIGINT handler, as `cnnlab export` has it (see the fixture in conftest).
pytestmark = pytest.mark.usefixtures("pythons_ctrl_c")


class Exported(Exception):
    """Raised by a stand-in exporter: the checks before the export let it through."""


def reached_export(*args, **kwargs):
    raise Exported


def _sidecar_of_an_earlier_export(path):
    path.write_text(json.dumps({"format": "cnnlab-onnx", "classes": ["a", "b"],
                                "preprocess": {}}))


def test_files_that_are_not_an_earlier_export_are_not_replaced(run_dir, tmp_path,
                                                               monkeypatch):
    needs_onnx()
    monkeypatch.setattr(export_mod, "_export", no_export)
    notes = tmp_path / "notes.json"  # where the sidecar of notes.onnx would go
    notes.write_text('{"my": "precious notes"}')
    with pytest.raises(ExportError, match=r"notes\.json is not the sidecar of a cnnlab "
                                          r"export.*choose another --out"):
        export_onnx(run_dir, out=tmp_path / "notes.onnx")
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "notes.onnx")])
    assert result.exit_code == 2 and "choose another --out" in result.output, result.output
    theirs = tmp_path / "theirs.onnx"  # someone else's model: no cnnlab sidecar beside it
    theirs.write_bytes(b"their model")
    with pytest.raises(ExportError, match=r"theirs\.onnx is not a cnnlab export \(there is "
                                          r"no sidecar theirs\.json"):
        export_onnx(run_dir, out=theirs)
    weights = tmp_path / "w.onnx.data"  # weights an export without them would delete
    weights.write_bytes(b"their weights")
    with pytest.raises(ExportError, match=r"w\.onnx\.data is not a cnnlab export"):
        export_onnx(run_dir, out=tmp_path / "w.onnx")
    assert notes.read_text() == '{"my": "precious notes"}'
    assert theirs.read_bytes() == b"their model" and weights.read_bytes() == b"their weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json", "theirs.onnx",
                                                          "w.onnx.data"]
    # An earlier export (its sidecar says so) is replaced, as before.
    monkeypatch.setattr(export_mod, "_export", reached_export)
    (tmp_path / "old.onnx").write_bytes(b"earlier export")
    _sidecar_of_an_earlier_export(tmp_path / "old.json")
    with pytest.raises(Exported):
        export_onnx(run_dir, out=tmp_path / "old.onnx")


def ctrl_c() -> None:
    """Ctrl-C as Python handles it on the main thread: the handler installed for SIGINT,
    called. (os.kill of this process let the kernel pick a thread; with another thread
    running, the handler ran late, and once in the full suite the test went wrong.)"""
    import signal

    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)


def _interrupted_exporter(how, calls):
    """torch.onnx.export whose torch.export-based run is interrupted by Ctrl-C and raises
    an error of its own instead (as it does at some points), chained to the interrupt or
    not; the TorchScript one runs for real (the old code fell back to it)."""

    real = torch.onnx.export

    def export(*args, dynamo, **kwargs):
        calls.append("torch.export" if dynamo else "torchscript")
        if not dynamo:
            return real(*args, dynamo=False, **kwargs)
        if how == "chained":
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise RuntimeError("Failed to export the model with torch.export") from exc
        try:
            ctrl_c()
        except KeyboardInterrupt:
            pass  # swallowed, and an unrelated error raised after it
        raise RuntimeError("Failed to export the model with torch.export")

    return export


@pytest.mark.parametrize("how", ["signal", "chained"])
def test_ctrl_c_during_the_export_stops_it_instead_of_falling_back(run_dir, tmp_path,
                                                                   monkeypatch, how):
    import signal

    needs_onnx()
    calls = []
    monkeypatch.setattr(torch.onnx, "export", _interrupted_exporter(how, calls))
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="export stopped; the new export was discarded"):
        export_onnx(run_dir, out=tmp_path / "new" / "m.onnx", batch_sizes=(2,))
    assert calls == ["torch.export"]  # no TorchScript fallback
    assert list(tmp_path.iterdir()) == []  # no staging folder, no folder made for it
    assert signal.getsignal(signal.SIGINT) is handler  # put back
    # The command: exit status 130, the earlier export kept.
    out = tmp_path / "m.onnx"
    out.write_bytes(b"earlier export")
    _sidecar_of_an_earlier_export(tmp_path / "m.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 130, result.output
    words = " ".join(result.output.split())
    assert "interrupted: export stopped; the new export was discarded and the previous" in words
    assert "exported" not in words and "Traceback" not in words
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_ctrl_c_while_the_export_is_moved_into_place_waits_for_the_pair(run_dir, tmp_path,
                                                                        monkeypatch):

    needs_onnx()
    replace = export_mod._replace

    def interrupted_replace(staged, path):
        ctrl_c()  # as the renames begin
        replace(staged, path)

    monkeypatch.setattr(export_mod, "_replace", interrupted_replace)
    out = tmp_path / "m.onnx"
    with pytest.raises(KeyboardInterrupt, match=r"moved into place: .*m\.onnx and its sidecar "
                                                r"are the new export"):
        export_onnx(run_dir, out=out, batch_sizes=(2,))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]
    assert load_onnx(out).classes  # graph and sidecar from the same export


def test_a_folder_it_may_not_write_in_is_named_not_a_traceback(run_dir, tmp_path,
                                                               monkeypatch):
    # As root permissions do not bite: the refusal is simulated where the write happens.
    needs_onnx()

    def refused(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}x1y2.tmp")

    monkeypatch.setattr(export_mod.tempfile, "mkdtemp", refused)
    out = tmp_path / "ro" / "m.onnx"
    with pytest.raises(ExportError, match=r"^cannot write .*ro/m\.onnx: permission denied; "
                                          r"choose another --out$"):
        export_onnx(run_dir, out=out)
    assert list(tmp_path.iterdir()) == []  # the folder made for it is gone again
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert f"error: cannot write {out}: permission denied; choose another --out" in words
    assert "Traceback" not in words and ".tmp" not in words
    # An OSError from elsewhere (a run file it may not read) is one line too.
    checkpoint = run_dir / "best.safetensors"

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(checkpoint))

    monkeypatch.setattr(export_mod, "export_run", unreadable)
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error: {checkpoint}: permission denied" in " ".join(result.output.split())


def test_replacing_another_runs_export_says_whose_it_was(run_dir, tmp_path):
    # It printed only "exported ...": the other run's export was gone without a word.
    needs_onnx()
    out = tmp_path / "model.onnx"
    first = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert first.exit_code == 0 and "warning" not in first.output, first.output
    sidecar = json.loads(out.with_suffix(".json").read_text())
    sidecar["source"]["run"] = "runs/other"  # as if another run had been exported there
    out.with_suffix(".json").write_text(json.dumps(sidecar))
    again = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert again.exit_code == 0, again.output
    words = " ".join(again.output.split())
    assert f"{out} held the export of runs/other (checkpoint " in words
    assert "it is replaced by this one" in words
    same = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert same.exit_code == 0 and "warning" not in same.output  # its own export: quiet


def test_the_same_run_exported_from_another_folder_is_not_called_another(run_dir, tmp_path,
                                                                         monkeypatch):
    # Exported as runs/lenet, then as lenet from inside runs/: "held the export of ...".
    needs_onnx()
    out = tmp_path / "model.onnx"
    assert runner.invoke(app, ["export", str(run_dir), "--out", str(out)]).exit_code == 0
    monkeypatch.chdir(run_dir.parent)
    again = runner.invoke(app, ["export", run_dir.name, "--out", str(out)])
    assert again.exit_code == 0 and "warning" not in again.output, again.output
