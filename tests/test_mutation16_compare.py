"""`cnnlab compare`: the tables alone on stdout (a script pipes them), what was written
said on stderr, and --x reaching the figure (mutation testing found both unchecked)."""

from __future__ import annotations

from compare_helpers import FINISHED, make_run, three_epochs
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.train.compare import RunComparison

runner = CliRunner()


def two_runs(tmp_path):
    make_run(tmp_path / "runs", "a", three_epochs(0.5, 0.8, 0.7), FINISHED, lr=0.1)
    make_run(tmp_path / "runs", "b", three_epochs(0.6, 0.6, 0.9), FINISHED, lr=0.05)
    return tmp_path / "runs"


def test_what_was_written_is_said_on_stderr_not_among_the_tables(tmp_path, monkeypatch):
    monkeypatch.setattr("cnnlab.figures.save_figure", lambda *args, **kwargs: None)
    out_csv, out_png = tmp_path / "c.csv", tmp_path / "c.png"
    result = runner.invoke(app, ["compare", str(two_runs(tmp_path)), "--csv", str(out_csv),
                                 "--plot", str(out_png)])
    assert result.exit_code == 0, result.output
    assert "written to" not in result.stdout
    said = " ".join(result.stderr.split())
    assert f"table written to {out_csv}" in said and f"figure written to {out_png}" in said
    assert out_csv.read_text(encoding="utf-8").startswith("run,")


def test_the_x_axis_chosen_reaches_the_figure(tmp_path, monkeypatch):
    axes = []
    monkeypatch.setattr(RunComparison, "figure", lambda self, x="epoch": axes.append(x))
    monkeypatch.setattr("cnnlab.figures.save_figure", lambda *args, **kwargs: None)
    runs = two_runs(tmp_path)
    for x in ("time", "epoch"):
        result = runner.invoke(app, ["compare", str(runs), "--plot", str(tmp_path / "f.png"),
                                     "--x", x])
        assert result.exit_code == 0, result.output
    assert axes == ["time", "epoch"]
