"""The two helpers of cnnlab/formatting.py that several messages and tables share: a
list cut short ("a, b, c, d, e and 3 more") and a share as a percentage. Each caller's
words stay as they were before they shared them (checked byte for byte here)."""

from __future__ import annotations

import math

import pytest
import torch

from cnnlab.design.folders import others_files
from cnnlab.formatting import first_few, percent_text
from cnnlab.train.divergence import epoch_end_divergence
from cnnlab.train.report_evaluation import percent


@pytest.mark.parametrize("count, text", [
    (0, ""), (1, "n0"), (5, "n0, n1, n2, n3, n4"), (6, "n0, n1, n2, n3, n4 and 1 more"),
    (9, "n0, n1, n2, n3, n4 and 4 more")])
def test_first_few_lists_five_and_counts_the_rest(count, text):
    assert first_few([f"n{i}" for i in range(count)]) == text


def test_first_few_of_one_names_the_first():
    assert first_few(["conv.weight", "conv.bias", "fc.bias"], 1) == "conv.weight and 2 more"
    assert first_few(["conv.weight"], 1) == "conv.weight"


def test_a_folders_other_files_are_listed_five_and_the_rest_counted(tmp_path):
    for name in "abcdefg":
        (tmp_path / name).touch()
    (tmp_path / ".trials.sqlite.tmp").touch()  # a killed write's: no one's
    assert others_files(tmp_path) == "a, b, c, d, e and 2 more"
    assert others_files(tmp_path, own=tuple("abcdef")) == "g"


def test_wrecked_weights_name_the_first_tensor_and_count_the_rest():
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight[0, 0] = math.nan
        model.bias[0] = math.inf
    assert epoch_end_divergence(4, model, None, None) == (
        "the weights became NaN/inf at the end of epoch 4 (weight and 1 more; the "
        "training loss, taken before each step, was finite)")


@pytest.mark.parametrize("share, decimals, text", [
    (0.91234, 2, "91.23%"), (0.1640625, 1, "16.4%"), (0.0, 2, "0.00%"), (1, 2, "100.00%"),
    (None, 2, "-"), (math.nan, 2, "-")])
def test_percent_text_as_a_table_cell(share, decimals, text):
    assert percent_text(share, decimals) == text


@pytest.mark.parametrize("value, text", [
    (0.91234, "91.23%"), ("0.5", "50.00%"), (math.nan, "not evaluated"), (None, ""), ("", "")])
def test_the_reports_percent_says_not_evaluated_and_leaves_none_blank(value, text):
    assert percent(value) == text
