"""`cnnlab bench`'s shared option checks (mutation testing, session 41): a model named
twice is timed once, and every listed choice, the last included, is taken."""

from __future__ import annotations

import pytest
import typer

from cnnlab.cli.bench import THROUGHPUT_AMP, ZOO_PRESETS, model_names, one_of


def test_a_model_matched_twice_is_benchmarked_once_in_the_order_given():
    names = model_names("lenet_d2l,lenet*,lenet_d2l")
    assert names[0] == "lenet_d2l" and names.count("lenet_d2l") == 1
    assert len(names) == len(set(names)) and "lenet_bn" in names


@pytest.mark.parametrize("choices", [THROUGHPUT_AMP, ZOO_PRESETS])
def test_every_choice_is_taken_and_no_other(choices):
    check = one_of(*choices)
    for choice in choices:
        assert check(choice) == choice
    assert check(list(choices)) == list(choices)  # a repeated option (--optimizer)
    with pytest.raises(typer.BadParameter, match="'nosuch' is not one of"):
        check("nosuch")
