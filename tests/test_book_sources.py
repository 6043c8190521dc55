"""Where the book's networks come from, said one way: the registry's ``paper`` names the
paper alone, and `cnnlab summary` and `cnnlab models NAME` add the book's section from
``ModelInfo.book_section``. The strings had named it three ways ("(d2l 8.6)", "(as in
Dive into Deep Learning, ch. 8.7)") or not at all (lenet_d2l, alexnet_d2l, vgg_d2l,
nin_d2l)."""

from __future__ import annotations

import re

import pytest
import torch

from cnnlab.inspect.summary import _registered_source
from cnnlab.models import get_model, list_models, model_info

BOOK = list_models(variant="book")


@pytest.mark.parametrize("name", BOOK)
def test_a_book_networks_source_names_its_section_once(name):
    info = model_info(name)
    with torch.device("meta"):
        source = _registered_source(get_model(name))
    assert source == f"{info.paper}; as Dive into Deep Learning {info.book_section} builds it"
    assert not re.search(r"d2l|Dive into|ch\. ?\d", info.paper), info.paper


def test_lenet_and_the_batch_norm_lenets_have_their_own_sections():
    with torch.device("meta"):
        assert _registered_source(get_model("lenet_d2l")).endswith(
            "1998; as Dive into Deep Learning 7.6 builds it")
        assert _registered_source(get_model("lenet_bn")).endswith("8.5 builds it")
        # a standard network is not the book's, even of a family the book builds
        assert "Dive into" not in _registered_source(get_model("resnet18"))


def test_the_books_resnext_names_resnexts_paper():
    assert model_info("resnext_d2l").paper.startswith("Xie et al. 2017")
