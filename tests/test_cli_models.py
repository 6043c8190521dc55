"""`cnnlab models`: the order of its rows and what its columns say they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app
from cnnlab.models import list_models
from cnnlab.models._registry import natural_key

WIDE = {"COLUMNS": "250"}


def models_output(monkeypatch, cache: Path, *args: str, code: int = 0,
                  broken: str = "") -> str:
    """`cnnlab models ARGS`'s output, where it exits with ``code``, with made-up counts (no
    model is built) and an empty cache at ``cache``; counting ``broken`` raises, as a
    builder broken by an edit would."""
    monkeypatch.setenv("CNNLAB_CACHE", str(cache))

    def counts(info):
        if info.name == broken:
            raise RuntimeError("shapes do not match")
        return 1000, 2000

    monkeypatch.setattr(complexity, "default_complexity", counts)
    result = CliRunner().invoke(app, ["models", *args], env=WIDE)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def listing(tmp_path, monkeypatch):
    """`cnnlab models ARGS`'s output (exit 0), as :func:`models_output` gives it."""
    return lambda *args, **kwargs: models_output(monkeypatch, tmp_path, *args, **kwargs)


def names_in(output: str) -> list[str]:
    return [line.split("│")[1].strip() for line in output.splitlines()
            if line.startswith("│")]


def test_numbers_in_names_sort_by_value():
    key = natural_key
    assert sorted(["resnet152", "resnet18", "resnet101", "resnet34", "resnet18_d2l"],
                  key=key) == ["resnet18", "resnet18_d2l", "resnet34", "resnet101",
                               "resnet152"]
    # RegNet's sizes: '1_6gf' is 1.6 GF, above 800 MF
    assert sorted(["regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf",
                   "regnet_x_400mf", "regnet_x_800mf", "regnet_x_8gf"], key=key) == [
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
        "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"]
    assert sorted(["resnext101_32x8d", "resnext50_32x4d", "resnext101_64x4d"], key=key) == [
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"]


def test_the_listing_is_in_natural_order(listing):
    # It was plain string order: regnet_x_16gf, regnet_x_1_6gf, regnet_x_32gf, ...
    assert names_in(listing("regnet_x_*")) == [
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
        "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"]
    standard = [n for n in names_in(listing("resnet*")) if n.startswith("resnet")
                and n[6:].isdigit()]
    assert standard == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def test_book_accuracy_is_a_percentage_and_said_what_it_is(listing):
    out = listing("alexnet_d2l")
    assert "83.0%" in out and "0.830" not in out
    said = " ".join(out.split())
    assert "Book acc.: Fashion-MNIST test accuracy" in said
    assert "10 epochs" in said and "not a cnnlab run" in said


def test_the_macs_column_says_it_is_at_each_models_input(listing):
    out = listing("alexnet*")  # 3x224x224 beside 1x224x224
    assert "MACs at Input" in out
    said = " ".join(out.split())
    assert "at the model's default input (the Input column)" in said
    # no book model listed: no word about the book's accuracy
    assert "Book acc.:" not in " ".join(listing("resnet152").split())


def test_list_models_gives_the_same_natural_order_as_the_listing():
    # list_models() sorted as strings: regnet_x_16gf came before regnet_x_1_6gf
    assert list_models("regnet_x_*") == [
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
        "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"]
    assert list_models("resnet1*") == ["resnet18", "resnet18_d2l", "resnet18_small",
                                       "resnet101", "resnet152"]


def test_a_narrow_terminal_gets_whole_names_without_the_family_column(listing, monkeypatch):
    # At 80 columns every name had been folded ("densene" / "t121"): a terminal that
    # narrow now goes without the Family column, and the caption says so.
    from rich.console import Console

    from cnnlab.cli import models as models_cli

    monkeypatch.setattr(models_cli, "output_console",
                        lambda: Console(width=80, soft_wrap=True, no_color=True))
    output = listing()
    rows = [line for line in output.splitlines() if line.startswith("│")]
    assert all(len(line) <= 80 for line in rows), output
    assert "densenet121" in names_in(output) and "resnext50_32x4d_small" in names_in(output)
    assert "not shown at 80 columns: Family" in output
    assert "Family" not in output.split("not shown")[0]


def test_the_first_listing_says_it_counts_then_reads_the_counts_back(listing):
    # The first `cnnlab models` counted 69 models for ~20 s without a word.
    first = listing()
    assert f"counting parameters and MACs of {len(list_models())} models, once" in first
    assert "counting" not in listing()  # read back from the cache


@pytest.mark.parametrize("width", [60, 80])
def test_the_captions_wrap_at_words_in_a_terminal(listing, monkeypatch, width):
    # The captions went out as single lines of ~270 characters (the console's soft wrap,
    # for pipes): a terminal cut them at its width, mid-word ("the book c" / "alls").
    import re

    from rich.console import Console

    from cnnlab.cli import models as models_cli

    monkeypatch.setattr(models_cli, "output_console", lambda: Console(
        width=width, soft_wrap=True, no_color=True, force_terminal=True))
    output = re.sub(r"\x1b\[[0-9;]*m", "", listing("lenet"))
    assert all(len(line) <= width for line in output.splitlines()), output
    below = " ".join(output.split("┘")[-1].split())
    assert "Book acc.: Fashion-MNIST test accuracy (the 10,000 test images, which the " \
           "book calls validation)" in below, below
    assert "MACs: multiply-adds for one image" in below
