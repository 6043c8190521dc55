"""`cnnlab models` for a teacher: the book's networks in its chapters' order, and one
model's details (what it is, its section, whether 28x28 fits, how to go on)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app
from cnnlab.models import list_models, model_info


def models_printer(tmp_path, monkeypatch, counts=(1000, 2000), columns=250):
    """`cnnlab models ARGS`'s output as printed, with made-up ``counts`` (params, MACs:
    no model is built) and an empty cache."""
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(complexity, "default_complexity", lambda info: counts)

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["models", *args], env={"COLUMNS": str(columns)})
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def listing(tmp_path, monkeypatch):
    """`cnnlab models ARGS`'s words, however the table wrapped them."""
    printed = models_printer(tmp_path, monkeypatch)
    return lambda *args: " ".join(printed(*args).split())


def test_the_books_networks_are_listed_in_its_chapters_order(listing):
    # They were in family name order: alexnet, densenet, googlenet, lenet, nin, ...
    out = listing("--variant", "book")
    # The BatchNorm LeNets are 8.5's: they came before LeNet itself (7.6).
    order = [out.index(f"│ {name} ") for name in (
        "lenet_d2l", "alexnet_d2l", "vgg_d2l", "nin_d2l", "googlenet_d2l", "lenet_bn_d2l",
        "resnet18_d2l", "densenet_d2l", "regnetx32_d2l")]
    assert order == sorted(order), out


def test_an_exact_name_says_what_the_model_is_and_where_the_book_builds_it(listing):
    # lenet_bn and lenet_bn_d2l had identical rows and no word on what told them apart.
    scratch, concise = listing("lenet_bn_d2l"), listing("lenet_bn")
    assert "from-scratch BatchNorm layer" in scratch
    assert "nn.BatchNorm1d/2d" in concise and "from-scratch" not in concise
    assert "Dive into Deep Learning 8.5, Batch Normalization" in scratch
    assert "Fashion-MNIST as it is" in scratch
    assert "cnnlab summary lenet_bn_d2l" in scratch and 'get_model("lenet_bn_d2l")' in scratch


def test_the_details_say_what_a_model_needs_of_28x28_images(listing):
    alexnet = listing("alexnet_d2l")
    assert "needs at least 65x65: Fashion-MNIST with --resize 65 or more" in alexnet
    assert "cnnlab train alexnet_d2l --preset book" in alexnet
    # A pattern listing several: the exact name's details follow, the others' do not.
    resnets = listing("resnet18")
    assert "torchvision's ResNet-18" in resnets and "takes Fashion-MNIST's 28x28 too" in resnets
    assert "The book's ResNet-18" not in resnets
    assert "cnnlab models NAME" in resnets  # the caption says how to get them


def test_every_model_has_details_and_every_book_model_a_section():
    from cnnlab.cli.models import BOOK_SECTIONS, _details

    for name in list_models():
        info = model_info(name)
        rows = dict(_details(info))
        assert rows[name] and rows["input"], name
        if info.variant == "book":
            assert info.book_section in BOOK_SECTIONS, name
