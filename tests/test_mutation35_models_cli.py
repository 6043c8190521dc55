"""`cnnlab models`: the refusals name the closest names, pinned where hand-made mutants
of cnnlab/cli/models.py had passed the tests."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app

WIDE = {"COLUMNS": "250"}


@pytest.fixture
def refused(tmp_path, monkeypatch):
    """The words of a refused `cnnlab models ARGS` (exit 2), its lines joined."""
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(complexity, "default_complexity", lambda info: (1000, 2000))

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["models", *args], env=WIDE)
        assert result.exit_code == 2, result.output
        return " ".join(result.output.split())

    return run


def test_a_mistyped_pattern_gets_the_closest_names(refused):
    words = refused("resnt18")
    assert "no registered model matches pattern 'resnt18'" in words
    assert "Did you mean: resnet18," in words and "Families: " in words


def test_a_pattern_no_model_of_that_family_matches_gets_no_guess(refused):
    words = refused("vgg", "--family", "resnet")
    assert "pattern 'vgg' and family 'resnet'" in words and "Did you mean" not in words


@pytest.mark.parametrize(("option", "typo", "meant"),
                         [("--family", "resnett", "resnet"), ("--variant", "boook", "book")])
def test_a_mistyped_family_or_variant_gets_the_closest_one(refused, option, typo, meant):
    words = refused(option, typo)
    assert f"Did you mean {option} {meant}?" in words
