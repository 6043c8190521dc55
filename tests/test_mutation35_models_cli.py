"""`cnnlab models`: the refusals name the closest names, pinned where hand-made mutants
of cnnlab/cli/models.py had passed the tests."""

from __future__ import annotations

import pytest
from test_cli_models import models_output, names_in

from cnnlab.formatting import format_count


@pytest.fixture
def refused(tmp_path, monkeypatch):
    """The words of a refused `cnnlab models ARGS` (exit 2), its lines joined."""
    return lambda *args: " ".join(models_output(monkeypatch, tmp_path, *args, code=2).split())


@pytest.fixture
def listing(tmp_path, monkeypatch):
    return lambda *args, **kwargs: models_output(monkeypatch, tmp_path, *args, **kwargs)


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


def test_the_families_the_book_has_no_section_for_come_last(listing):
    names = names_in(listing())
    assert names[0].startswith("lenet")
    assert {n.split("_")[0] for n in names[-4:]} <= {"notes", "speednet"}


def test_the_book_accuracy_names_no_size_where_the_input_column_gives_it(listing):
    row = next(line for line in listing("lenet_d2l").splitlines()
               if line.startswith("│") and "lenet_d2l" in line)
    acc = row.split("│")[-2].strip()
    assert acc.endswith("%") and " at " not in acc, row


def test_a_model_that_cannot_be_counted_is_an_error_row_and_a_warning(listing):
    out = listing("lenet*", broken="lenet_bn")
    row = next(line for line in out.splitlines() if line.startswith("│ lenet_bn "))
    assert row.count("error") == 2
    other = next(line for line in out.splitlines() if line.startswith("│ lenet_d2l "))
    assert format_count(1000) in other and format_count(2000) in other  # the others counted
    words = " ".join(out.split())
    assert "could not count lenet_bn: RuntimeError: shapes do not match" in words
