"""list_models filters by family and variant as `cnnlab models --family F --variant V`
does, with the one implementation both use."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.models import ModelFilterError, list_models, model_info


def test_family_and_variant_keep_the_models_that_have_them():
    # list_models(variant="book") was "TypeError: ... unexpected keyword argument".
    books = list_models(variant="book")
    assert books and books == [n for n in list_models() if model_info(n).variant == "book"]
    resnets = list_models(family="ResNet")  # in any case, as --family
    assert "resnet18" in resnets and all(model_info(n).family == "resnet" for n in resnets)
    assert list_models("*18*", family="resnet", variant="standard") == ["resnet18"]
    assert list_models(variant="Book") == books  # in any case too (review-diff2 N8)
    assert list_models("vgg", family="resnet") == []  # a pattern matching none: as before


def test_a_family_or_variant_no_model_has_names_those_there_are():
    with pytest.raises(ModelFilterError, match=r"no model has family 'resnt'\. Did you mean "
                                               r"family='resnet'\? Families: alexnet, "):
        list_models(family="resnt")
    with pytest.raises(ValueError, match=r"variant 'books'\. Did you mean variant='book'\? "
                                         r"Variants: book, standard, cnnlab$"):
        list_models(variant="books")


def test_the_command_line_lists_what_list_models_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["models", "--family", "resnet", "--variant", "book"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    names = list_models(family="resnet", variant="book")
    assert f"{len(names)} model" in result.output
    assert all(name in result.output for name in names)
    result = runner.invoke(app, ["models", "--variant", "books"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "Did you mean --variant book?" in result.output
