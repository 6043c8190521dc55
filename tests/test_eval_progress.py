"""`cnnlab eval` shows a bar of the test images it scores: 10,000 images through a ResNet
on a CPU take minutes, and it printed nothing until the end."""

import contextlib

from test_eval_run import _train_tiny
from typer.testing import CliRunner

import cnnlab.train.evaluate as evaluation
from cnnlab.cli import app
from cnnlab.progress import counting_bar
from cnnlab.train import evaluate_run


def _recording_bars(monkeypatch):
    """Bars evaluate_run opens, as [what, total, shown, images advanced]."""
    bars = []

    @contextlib.contextmanager
    def recorded(what, total, shown=True):
        bar = [what, total, shown, 0]
        bars.append(bar)

        def advance(n):
            bar[3] += n
        yield advance

    monkeypatch.setattr(evaluation, "counting_bar", recorded)
    return bars


def test_the_bar_counts_every_test_image_scored_once(tmp_path, monkeypatch):
    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16)
    bars = _recording_bars(monkeypatch)
    scored = evaluate_run(run_dir, device="cpu", eval_subset=30)
    assert scored.count == 30
    assert bars == [["scoring test images", 30, False, 30]]  # from Python: none unasked
    evaluate_run(run_dir, device="cpu", progress=True)
    assert bars[-1] == ["scoring test images", 40, True, 40]


def test_cnnlab_eval_asks_for_the_bar(tmp_path, monkeypatch):
    run_dir, _ = _train_tiny(tmp_path, monkeypatch, 40, batch_size=16)
    bars = _recording_bars(monkeypatch)
    result = CliRunner().invoke(app, ["eval", str(run_dir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert bars == [["scoring test images", 40, True, 40]]


def test_a_shown_bar_draws_on_a_terminal_and_is_gone_after(monkeypatch, capsys):
    import cnnlab.progress as progress

    monkeypatch.setattr(progress, "shows_live", lambda console: True)
    monkeypatch.setenv("FORCE_COLOR", "0")
    with counting_bar("scoring test images", 4) as advance:
        advance(3)
        advance(1)
    err = capsys.readouterr().err
    assert "scoring test images" in err and "4/4" in err
    with counting_bar("scoring test images", 4, shown=False) as advance:
        advance(4)
    assert capsys.readouterr().err == ""
