"""How the summary's layer names are shortened to fit a terminal, case by case.

Written against mutants of cnnlab/inspect/_layout.py (session 39) that the suite let
through: a name that fitted exactly was shortened, the part of a name kept was chosen
differently, a deep indent was kept before a name it left no room for, the numbers'
columns folded while the Layer column still had room, names cut to a width they were
not given, and the caption's "names shortened" missing where some names were whole.
"""

from __future__ import annotations

import pytest

from cnnlab.formatting import fitted_widths, narrowest_widths, table_width
from cnnlab.inspect._layout import name_end, shorten_layer_names

DEEP = "features.denseblock4.denselayer16.conv2"  # 39 characters


@pytest.mark.parametrize("cell, room, shown", [
    (DEEP, 39, DEEP),  # fits exactly: whole
    ("  " + DEEP, 41, "  " + DEEP),
    (DEEP, 31, "…denseblock4.denselayer16.conv2"),  # the cut falls on a dot: whole parts
    (DEEP, 13, "…ayer16.conv2"),  # "conv2" alone would leave most of the room empty
    (DEEP, 12, "…conv2"),
    ("  " + DEEP, 4, "…nv2"),  # an indent leaving under 4 characters of the name goes
    ("    a.conv", 7, " a.conv"),  # the name whole, under what fits of its indent
    ("    a.conv", 6, "a.conv"),
])
def test_name_end_keeps_the_end_of_a_name_in_its_room(cell, room, shown):
    assert name_end(cell, room) == shown


HEADER = ["Layer", "Output shape", "Params"]
CELLS = [[DEEP, "[1, 32, 2, 2]", "36.9K"], ["  fc", "[1, 10]", "850"]]


def test_a_table_that_just_fits_is_left_to_rich():
    width = table_width(narrowest_widths(HEADER, CELLS))
    widths = fitted_widths(HEADER, CELLS, width)
    assert shorten_layer_names(HEADER, CELLS, widths, width) == (CELLS, widths, False)


def test_the_layer_column_gives_up_room_down_to_12_before_the_numbers_fold():
    widths = fitted_widths(HEADER, CELLS, 41)  # room for a Layer column of 12 exactly
    cells, widths, shortened = shorten_layer_names(HEADER, CELLS, widths, 41)
    assert widths == [12, 13, 6] and shortened
    assert cells == [["…conv2", "[1, 32, 2, 2]", "36.9K"], CELLS[1]]


@pytest.mark.parametrize("width", range(10, 80, 3))
def test_names_fit_their_column_and_the_caption_says_when_any_was_shortened(width):
    cells, widths, shortened = shorten_layer_names(
        HEADER, CELLS, fitted_widths(HEADER, CELLS, width), width)
    assert [row[1:] for row in cells] == [row[1:] for row in CELLS]  # numbers whole
    if widths[0] is not None:
        assert all(len(row[0]) <= widths[0] for row in cells), (widths, cells)
    assert shortened == any(new[0] != old[0] for new, old in zip(cells, CELLS, strict=True))
    assert shortened == (width < table_width(narrowest_widths(HEADER, CELLS)))
