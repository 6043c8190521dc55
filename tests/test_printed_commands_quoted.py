"""Commands cnnlab prints with a folder in them quote it for the shell: pasted as printed,
`cnnlab data download --root /tmp/x y'z` named another folder (or never ended, for the
quote). Session 35 quoted eval's, resume's and analyze's; these five were left."""

from __future__ import annotations

import shlex
import sys

import pytest
from design_helpers import tiny_spec
from typer.testing import CliRunner

from cnnlab.data import fashion_mnist as fm
from cnnlab.design.report import NothingFinished, SpaceResult, check_finished
from cnnlab.design.store import SweepError, TrialStore
from cnnlab.export import ExportResult

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell words")

ODD = "x y'z"  # a space and a quote
SHAPE = {"image_size": 28, "in_channels": 1, "num_classes": 10}  # as create_sweep fills it


def words_after(text: str, command: str) -> list[str]:
    """The shell words of the ``command`` line printed in ``text``, up to its end."""
    line = text[text.index(command):].split("\n")[0].split("`")[0].split("  (")[0]
    return shlex.split(line)


def test_the_download_offered_for_a_given_root_names_it_whole(tmp_path):
    root = tmp_path / ODD
    root.mkdir()
    said = fm.not_found_message(root)
    assert words_after(said, "cnnlab data download")[-2:] == ["--root", str(root)]


def test_the_mend_for_a_damaged_copy_names_its_folder_whole(tmp_path):
    root = tmp_path / ODD
    said = fm._how_to_mend(fm.Location(root, "given path"))
    assert words_after(said, "cnnlab data verify") == ["cnnlab", "data", "verify", "--root",
                                                       str(root)]
    assert words_after(said, "cnnlab data download")[-2:] == ["--root", str(root)]


def test_a_sweep_with_nothing_finished_names_its_status_command_whole(tmp_path):
    sweep = tmp_path / ODD
    result = SpaceResult(label="a", directory=str(sweep), spec={}, rows=[],
                         counts={"pending": 2, "failed": 1})
    with pytest.raises(NothingFinished) as caught:
        check_finished([result], tmp_path / "report")
    said = str(caught.value)
    assert words_after(said, "cnnlab design status") == ["cnnlab", "design", "status",
                                                         str(sweep)]
    assert words_after(said, "cnnlab design run")[-2:] == [str(sweep), "--retry-failed"]


def test_another_sweep_in_the_folder_names_its_resume_whole(tmp_path):
    sweep = tmp_path / ODD
    with TrialStore(sweep, create=True) as store:
        store.init_sweep(tiny_spec("anynetx_a", seed=1, **SHAPE), 2)
    with TrialStore(sweep, create=True) as store, pytest.raises(SweepError) as caught:
        store.init_sweep(tiny_spec("anynetx_e", seed=2, **SHAPE), 2)
    said = str(caught.value)
    assert words_after(said, "cnnlab design run") == ["cnnlab", "design", "run", "--resume",
                                                      str(sweep)]


def test_export_names_the_model_to_predict_with_whole(tmp_path, monkeypatch):
    import typer

    import cnnlab.export
    from cnnlab.cli.export import export

    model = tmp_path / ODD / "export" / "model.onnx"
    done = ExportResult(path=model, sidecar=model.with_suffix(".json"), exporter="x",
                        opset=17, max_abs_diff={1: 1e-6}, atol=1e-4, input_shape=(1, 28, 28))
    monkeypatch.setattr(cnnlab.export, "export_run", lambda *a, **k: done)
    app = typer.Typer()
    app.command()(export)
    result = CliRunner().invoke(app, [str(tmp_path / ODD)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert words_after(result.output, "cnnlab predict") == ["cnnlab", "predict", str(model),
                                                            "IMAGE", "..."]
