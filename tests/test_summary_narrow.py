"""`cnnlab summary` in an 80-column terminal: numbers whole, long layer names shortened."""

from __future__ import annotations

import io
import re

import torch
from rich.console import Console

from cnnlab.inspect import summary
from cnnlab.models import get_model


def rendered(result, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True).print(result)
    return buf.getvalue()


def test_a_deep_model_at_80_columns_keeps_every_number_whole():
    # densenet121 at its default depth (every leaf): rich shrank all columns alike, so a
    # class saw "9.4…" params and "2.1…" MACs, and shapes folded over two lines.
    with torch.device("meta"):
        model = get_model("densenet121")
    result = summary(model, (3, 64, 64))
    text = rendered(result, 80)
    table = text.split("Parameters ")[0]
    assert all(len(line.rstrip()) <= 80 for line in table.splitlines()), text
    assert "…" not in "".join(line[-30:] for line in table.splitlines()), text
    # the first conv's row, whole: its shape, 9.41K params and 9.63M MACs
    assert re.search(r"features\.conv0 +\[1, 64, 32, 32\] +9\.41K +9\.63M", table), text
    # a name too long for the room left keeps its end (the layer's own name), on one line
    assert re.search(r"…[\w.]*denselayer16\.conv2 +\[1, 32, 2, 2\] +36\.9K +147K", table), text
    assert "layer names shortened" in text
    # a row a line: plus title, header, rule, total, caption and blank lines
    assert len(table.strip().splitlines()) <= len(result.rows) + 10
    assert "shortened" not in rendered(result, 200)


def test_a_shortened_name_always_fits_its_room():
    # A deep indent before a short name raised IndexError (a user's nested Sequentials
    # at 48 columns); a room of 1 got "…abc".
    from cnnlab.inspect._layout import name_end

    names = ["a.conv", "features.denseblock4.denselayer16.conv2", "x.y", "abc", "ab.cd.ef.gh"]
    for name in names:
        for indent in range(0, 13, 2):
            cell = " " * indent + name
            for room in range(1, len(cell) + 2):
                shown = name_end(cell, room)
                assert len(shown) <= room, (cell, room, shown)
                assert shown == cell or shown.lstrip(" ").lstrip("…") in name
