"""The book's networks as a teacher checks them against Dive into Deep Learning: the
shapes its sections print, and the initialisation its recipe gives each network."""

from __future__ import annotations

import math
import re

import pytest
import torch
from test_cli_models_details import listing, models_printer  # noqa: F401  (listing: a fixture)
from test_summary_latex import _compiles
from torch import nn
from typer.testing import CliRunner

import cnnlab
from cnnlab.cli import app
from cnnlab.models import list_models, model_info
from cnnlab.models._registry import model_on_meta

BOOK_TRAINED = [n for n in list_models(variant="book") if model_info(n).book_recipe]


def test_vgg_d2l_says_how_to_get_the_vgg11_table_its_section_prints(listing):  # noqa: F811
    # The book prints VGG-11's widths' layer shapes (512x7x7, 25088) and trains a narrower
    # arch; `cnnlab summary vgg_d2l` shows the trained one (128x7x7, 6272) and neither
    # `cnnlab models vgg_d2l` nor the summary said where the book's table comes from.
    out = listing("vgg_d2l")
    code = re.search(r"`(summary\(get_model\(\"vgg_d2l\".*?\)\)\))`", out)
    assert code, out
    assert "128,806,154 parameters" in out
    with torch.device("meta"):  # the code as shown, without drawing 129M weights
        shown = eval(code.group(1), {"summary": cnnlab.summary, "get_model": cnnlab.get_model})
    assert shown.flow_str().startswith("1x224x224 → 64x112x112 → 128x56x56 → 256x28x28 → "
                                       "512x14x14 → 512x7x7 → 25088 → 4096 → 4096 → 10")
    assert shown.totals.params == 128_806_154


@pytest.mark.parametrize("name", BOOK_TRAINED)
def test_the_book_recipe_line_names_the_init_the_book_gives(listing, name):  # noqa: F811
    # Which networks the book Xavier-initialises differs by section (AlexNet, DenseNet and
    # RegNetX32 keep PyTorch's); the recipe knew it, the details did not say it.
    recipe_line = listing(name).split("book recipe ")[1].split(" layers ")[0]
    words = {"xavier": "Xavier-uniform init", "default": "PyTorch's default init"}
    init = model_info(name).book_recipe.init
    assert words[init] in recipe_line
    assert all(text not in recipe_line for kind, text in words.items() if kind != init)


def _init_of(weight: torch.Tensor) -> str:
    """Which uniform init drew ``weight``: its largest value sits at that init's bound."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    largest = weight.abs().max().item()
    xavier, default = math.sqrt(6 / (fan_in + fan_out)), 1 / math.sqrt(fan_in)
    if abs(xavier - default) < 0.1 * default:
        return "either"  # the bounds coincide (fan_out ~ 5 fan_in): tells nothing
    return "xavier" if abs(largest - xavier) < 0.05 * xavier else (
        "default" if abs(largest - default) < 0.05 * default else f"other ({largest:.3g})")


@pytest.mark.parametrize("name", [n for n in BOOK_TRAINED
                                  if n not in ("alexnet_d2l", "vgg_d2l", "nin_d2l")])
def test_the_book_models_are_built_with_the_init_their_recipe_names(name):
    # The 224x224 networks are left out for time (their builders share the init code).
    torch.manual_seed(0)
    net = cnnlab.get_model(name)
    kinds = {_init_of(m.weight.detach()) for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))} - {"either"}
    assert kinds == {model_info(name).book_recipe.init}, kinds


def test_the_meta_builds_of_the_224_book_models_keep_the_books_shapes():
    # AlexNet and NiN print these in their sections (1x1x224x224).
    alexnet = cnnlab.summary(model_on_meta("alexnet_d2l"))
    assert alexnet.flow_str() == ("1x224x224 → 96x54x54 → 96x26x26 → 256x12x12 → "
                                  "256x5x5 → 6400 → 4096 → 4096 → 10")
    assert alexnet.totals.params == 46_764_746
    nin = cnnlab.summary(model_on_meta("nin_d2l"))
    assert nin.flow_str() == ("1x224x224 → 96x54x54 → 96x26x26 → 256x12x12 → 384x5x5 → "
                              "10x1x1 → 10")


def test_models_show_name_is_answered_with_the_command_that_shows_it():
    # `cnnlab data show NAME` exists, so a class types `cnnlab models show vgg_d2l`; click
    # said only "Got unexpected extra argument(s) (vgg_d2l)".
    result = CliRunner().invoke(app, ["models", "show", "vgg_d2l"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "not 'show vgg_d2l'" in out and "cnnlab models vgg_d2l" in out, out
    assert "unexpected extra argument" not in out


@pytest.fixture
def listed(tmp_path, monkeypatch):
    """`cnnlab models ARGS`'s output as printed at 80 columns, every model counted as
    lenet_d2l is (nothing built)."""
    return models_printer(tmp_path, monkeypatch, (61706, 416520), columns=80)


def test_the_models_listing_prints_as_markdown_for_a_slide(listed):
    # `cnnlab summary` had --markdown/--latex; the listing of the book's networks with
    # their sizes and the book's accuracies (a chapter's overview slide) only a rich table.
    out = listed("--variant", "book", "--markdown")
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert table[0] == "| Name | Family | Variant | Params | MACs at Input | Input | Book acc. |"
    assert table[1] == "|---|---|---|---:|---:|---|---:|"
    assert "| lenet_d2l | lenet | book | 61.7K | 417K | 1x28x28 | 72.8% |" in table
    assert len(table) == 2 + len(list_models(variant="book"))
    assert {line.count("|") for line in table} == {8}  # every column, a narrow terminal or not
    assert "Book acc.: Fashion-MNIST test accuracy" in out  # the notes come along


def test_one_models_details_print_as_latex_that_compiles(listed):
    out = listed("vgg_d2l", "--latex")
    _compiles(out)
    assert out.startswith("% cnnlab models: needs \\usepackage{booktabs}")
    assert r"vgg\_d2l & vgg & book & 61.7K & 417K & 1x224x224 & 89.6\% \\" in out
    assert r"\begin{tabular}{lp{0.75\linewidth}}" in out  # the details' words wrap
    assert r"book recipe & SGD lr 0.01, 10 epochs, batch 128, 224x224 images" in out
    both = CliRunner().invoke(app, ["models", "--markdown", "--latex"])
    assert both.exit_code == 2 and "give one of them" in both.output
