"""What `cnnlab eval` prints of a scored run, pinned where hand-made mutants of the
command went unnoticed (session 41, mutation46). The scoring is stood in for: these
tests are of the command's printing, not of evaluate_run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


@pytest.fixture
def scored_as(monkeypatch):
    """Have `cnnlab eval` print ``groups`` (class_table's (heading, rows)) and a test
    loss of ``loss``; returns the arguments evaluate_run was called with."""
    import cnnlab.train.evaluate as evaluate

    calls = []

    def stand_in(groups, loss=0.123456, classes=("a", "b")):
        def evaluate_run(*args, **kwargs):
            calls.append((args, kwargs))
            return SimpleNamespace(
                result=SimpleNamespace(loss=loss), classes=list(classes),
                headline=lambda: "test accuracy 50.00% on 2 images",
                class_table=lambda every=False: groups)

        monkeypatch.setattr(evaluate, "evaluate_run", evaluate_run)
        return calls

    return stand_in


def test_eval_prints_the_test_loss_to_four_places_and_says_what_it_is(scored_as, tmp_path):
    scored_as([("", [("a", "50.0%"), ("b", "50.0%")])], loss=0.123456)
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "run"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "test loss 0.1235 (mean cross-entropy, without label smoothing)" in result.output


def test_eval_scores_the_best_checkpoint_unless_told_otherwise(scored_as, tmp_path):
    calls = scored_as([("", [("a", "50.0%")])])
    run = str(tmp_path / "run")
    assert CliRunner().invoke(app, ["eval", run]).exit_code == 0
    assert CliRunner().invoke(app, ["eval", run, "--which", "last"]).exit_code == 0
    assert [args[3] for args, _ in calls] == ["best", "last"]


def test_eval_shows_a_class_named_like_markup_as_written_and_every_row(scored_as, tmp_path):
    # A folder's class "[red]x" is a name, not a colour; a group lists each of its rows.
    rows = [("[red]x", "40.0%")] + [(f"class{n:02d}", "50.0%") for n in range(11)]
    scored_as([("", rows)], classes=[name for name, _ in rows])
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "[red]x" in result.output
    assert all(name in result.output for name, _ in rows)


def test_eval_of_two_groups_says_how_many_each_holds_and_how_to_list_all(scored_as,
                                                                           tmp_path):
    lowest = [(f"low{n}", "10.0%") for n in range(10)]
    highest = [(f"high{n}", "90.0%") for n in range(10)]
    scored_as([("lowest accuracy", lowest), ("highest accuracy", highest)],
              classes=[f"c{n}" for n in range(40)])
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert ("40 classes: the 10 of lowest and the 10 of highest accuracy; add --all-classes "
            "to list every one") in words
