"""`cnnlab models`: the refusals name the closest names, pinned where hand-made mutants
of cnnlab/cli/models.py had passed the tests."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app
from cnnlab.formatting import format_count

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


@pytest.fixture
def listed(tmp_path, monkeypatch):
    """`cnnlab models ARGS`'s output (exit 0), with made-up counts and an empty cache;
    counting ``broken`` raises, as a builder broken by an edit would."""
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))

    def run(*args: str, broken: str = "") -> str:
        def counts(info):
            if info.name == broken:
                raise RuntimeError("shapes do not match")
            return 1000, 2000

        monkeypatch.setattr(complexity, "default_complexity", counts)
        result = CliRunner().invoke(app, ["models", *args], env=WIDE)
        assert result.exit_code == 0, result.output
        return result.output

    return run


def names_in(output: str) -> list[str]:
    return [line.split("│")[1].strip() for line in output.splitlines()
            if line.startswith("│")]


def test_the_families_the_book_has_no_section_for_come_last(listed):
    names = names_in(listed())
    assert names[0] == "lenet_d2l" or names[0].startswith("lenet")
    assert {n.split("_")[0] for n in names[-4:]} <= {"notes", "speednet"}


def test_the_book_accuracy_names_no_size_where_the_input_column_gives_it(listed):
    row = next(line for line in listed("lenet_d2l").splitlines()
               if line.startswith("│") and "lenet_d2l" in line)
    acc = row.split("│")[-2].strip()
    assert acc.endswith("%") and " at " not in acc, row


def test_a_model_that_cannot_be_counted_is_an_error_row_and_a_warning(listed):
    out = listed("lenet*", broken="lenet_bn")
    row = next(line for line in out.splitlines() if line.startswith("│ lenet_bn "))
    assert row.count("error") == 2
    other = next(line for line in out.splitlines() if line.startswith("│ lenet_d2l "))
    assert format_count(1000) in other and format_count(2000) in other  # the others counted
    words = " ".join(out.split())
    assert "could not count lenet_bn: RuntimeError: shapes do not match" in words
