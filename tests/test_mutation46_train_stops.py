"""How `cnnlab train` and `resume` end a run that stopped or diverged (cli/train.py's
_guarded), pinned where hand-made mutants went unnoticed (session 41, mutation46). The
run is stood in for by a function that raises what training would."""

from __future__ import annotations

import pytest
import typer

from cnnlab.cli.train import _guarded
from cnnlab.train import TrainingDiverged, TrainingInterrupted


def _raising(exc):
    def run():
        raise exc
    return run


def test_a_stop_by_sigterm_exits_143_and_prints_a_bracketed_path_as_written(capsys):
    # A scheduler reads 143 as its own SIGTERM (130 is a user's Ctrl-C); "[/b]" in a run
    # folder's name is no markup, and as markup it ended the command with a MarkupError.
    stopped = TrainingInterrupted("stopped by SIGTERM; cnnlab resume 'runs/[/b]x'",
                                  signal_name="SIGTERM")
    with pytest.raises(typer.Exit) as stop:
        _guarded(_raising(stopped))
    assert stop.value.exit_code == 143
    assert "cnnlab resume 'runs/[/b]x'" in capsys.readouterr().err


@pytest.mark.parametrize("exc, status", [
    (TrainingInterrupted("stopped by SIGINT", signal_name="SIGINT"), 130),
    (TrainingDiverged("loss became NaN at epoch 1"), 3),
])
def test_only_the_main_process_says_why_the_run_ended(exc, status, monkeypatch, capsys):
    # Under torchrun each process ends alike; rank 0 alone says why, once, not once a rank.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(typer.Exit) as stop:
        _guarded(_raising(exc))
    assert stop.value.exit_code == status
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(typer.Exit):
        _guarded(_raising(exc))
    assert str(exc) in " ".join(capsys.readouterr().err.split())
