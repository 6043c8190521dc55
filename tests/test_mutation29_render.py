"""A summary's HTML: every cell escaped, text columns left-aligned and numbers right.
Written against mutants of cnnlab/inspect/_render.py (session 39) that the suite let
through: a layer name's "<b>" sent as markup, and the Output shape column aligned
right as a number."""

from __future__ import annotations

import re

from torch import nn

from cnnlab.inspect import summary


def _page():
    model = nn.Sequential()
    model.add_module("a<b>", nn.Conv2d(1, 2, 3))  # nn allows any name without a dot
    return summary(model, (1, 6, 6))


def test_a_layer_name_is_escaped_in_the_html_table():
    page = _page()._repr_html_()
    assert ">a&lt;b&gt;<" in page and "<b>" not in page


def test_text_columns_are_left_aligned_and_numbers_right():
    s = _page()
    page = s._repr_html_()
    thead = re.search(r"<thead>(.*)</thead>", page).group(1)
    cells = re.findall(r'<th style="([^"]*)">([^<]*)</th>', thead)
    assert [name for _, name in cells] == s.table_cells()[0]
    for style, name in cells:
        side = "left" if name in s.TEXT_COLUMNS else "right"
        assert f"text-align:{side}" in style, (name, style)
    row = re.search(r"<tbody>(.*?)</tr>", page).group(1)
    styles = re.findall(r'<td style="([^"]*)">', row)
    assert len(styles) == len(cells)
    for style, (_, name) in zip(styles, cells, strict=True):
        assert ("text-align:left" in style) == (name in s.TEXT_COLUMNS), (name, style)
