"""`cnnlab summary NAME --input ...`: what each spelling of a shape gives, and the
refusals, pinned where hand-made mutants of cnnlab/cli/models.py had passed the tests."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def summary_json(*args: str) -> dict:
    result = runner.invoke(app, ["summary", *args, "--json", "--depth", "0"], env=WIDE)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("text", ["1X28X28", "1x28x28", "28"])
def test_a_shape_in_either_case_or_a_side_is_one_28px_grey_image(text):
    assert summary_json("lenet_d2l", "--input", text)["input_size"] == [1, 28, 28]


def test_a_side_keeps_the_models_own_channels():
    # an RGB model keeps its 3 channels, and so its ImageNet head (no 10-class grey one)
    assert summary_json("lenet_d2l", "--input", "32")["input_size"] == [1, 32, 32]
    d = summary_json("resnet18", "--input", "32")
    assert d["input_size"] == [3, 32, 32]
    assert d["rows"][0]["output_shapes"] == [[1, 1000]]


def test_the_channels_given_build_the_first_layer_for_them():
    d = summary_json("lenet_d2l", "--input", "3x28x28", "--num-classes", "10")
    # LeNet's first conv, 6 filters of 5x5 over 3 channels and a bias, is 6*(75+1) larger
    # than over 1 channel: 456 against 156
    grey = summary_json("lenet_d2l", "--input", "1x28x28", "--num-classes", "10")
    assert d["totals"]["params"] - grey["totals"]["params"] == 456 - 156


@pytest.mark.parametrize("text", ["0", "1x0x28", "0x28x28", "1x28", "28x", "1x28x28x1", "-28"])
def test_a_zero_or_malformed_shape_is_refused_as_the_user_wrote_it(text):
    result = runner.invoke(app, ["summary", "lenet_d2l", "--input", text], env=WIDE)
    assert result.exit_code == 2, result.output
    words = " ".join(result.output.split())
    assert "expected CxHxW" in words and repr(text) in words, words


def test_a_sized_head_refuses_a_non_square_input_with_the_square_one():
    result = runner.invoke(app, ["summary", "lenet_d2l", "--input", "1x28x32"], env=WIDE)
    assert result.exit_code == 2, result.output
    assert "square" in result.output and "--input 1x28x28" in result.output


def test_two_output_formats_are_refused_whichever_two():
    for pair in (["--json", "--latex"], ["--markdown", "--latex"], ["--json", "--markdown"]):
        result = runner.invoke(app, ["summary", "lenet_d2l", *pair], env=WIDE)
        assert result.exit_code == 2, (pair, result.output)
        assert " and ".join(pair) in result.output
