"""Numbers README states about cnnlab's own output are the output's."""

from __future__ import annotations

import re
from pathlib import Path

from cnnlab import get_model, summary

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_summary_leaf_row_count_readme_gives_is_the_tables():
    # README said 56 rows where `cnnlab summary resnet18_d2l` prints 49: the number a
    # reader weighs --depth 2 against.
    text = README.read_text(encoding="utf-8")
    [stated] = re.findall(r"summary resnet18_d2l --depth 2 .*?\((\d+) rows at every leaf\)",
                          text)
    rows = summary(get_model("resnet18_d2l"), (1, 96, 96)).rows
    assert int(stated) == len(rows)
