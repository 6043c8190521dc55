"""Gaps left by mutation16 in cnnlab/cli/messages.py and train_result.py: what a torchrun
rank other than 0 says (and when), and a result table with no test accuracy at all."""

import math
from types import SimpleNamespace

import pytest
import typer

from cnnlab.cli import messages, train_result
from cnnlab.notices import SetupWarning
from cnnlab.train.distributed import RankLost


def _as_rank(monkeypatch, rank):
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")


@pytest.mark.parametrize(("exc", "pauses"), [(RankLost("rank 0 is gone"), False),
                                             (OSError("disk failed"), True)])
def test_a_lost_rank_is_said_at_once_other_errors_after_the_pause(monkeypatch, capsys,
                                                                  exc, pauses):
    _as_rank(monkeypatch, 1)
    slept = []
    monkeypatch.setattr(messages.time, "sleep", slept.append)
    with pytest.raises(typer.Exit):
        messages.fail_for(exc)
    assert slept == ([messages.OTHER_RANKS_PAUSE_S] if pauses else [])
    assert f"rank 1: {exc}" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(("rank", "shown"), [(0, True), (1, False)])
def test_a_cnnlab_warning_is_shown_by_rank_0_alone(monkeypatch, capsys, rank, shown):
    _as_rank(monkeypatch, rank)
    messages.show_warning(SetupWarning("light background"), SetupWarning, "x.py", 1)
    assert ("light background" in capsys.readouterr().err) is shown


def test_a_result_with_no_test_accuracy_recorded_says_not_evaluated(monkeypatch, capsys):
    monkeypatch.setattr(train_result, "_epochs_trained", lambda result: "1 of 2")
    result = SimpleNamespace(final={"images_per_s": 100.0}, eval_scope="",
                             best_test_acc=math.nan, train_time_s=1.0, stopped=None,
                             run_dir=None, history=[])
    train_result.print_result(result)
    shown = capsys.readouterr().out
    assert shown.count("not evaluated") == 2 and "0.00%" not in shown
