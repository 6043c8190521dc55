"""fitted_widths: a column that may wrap gets the room left over, up to its whole text.

Session 33's mutation report left this branch untested (F29): with the room taken
away, bench throughput's optimizer column wrapped at 60 columns where it fitted;
with no cap, the column grew past its text and took width the table did not need.
"""

from __future__ import annotations

import pytest

from cnnlab.formatting import fitted_widths, table_width

HEADER = ["run", "best test accuracy", "optimizer"]
ROWS = [["resnet18", "91.2", "1.9x sgd (0.91-1.1)"]]  # optimizer: 19 whole, 10 its longest word


@pytest.mark.parametrize("width, optimizer", [(40, 14), (44, 18), (46, 19), (50, 19)])
def test_a_wrapping_column_takes_the_room_left_up_to_its_whole_text(width, optimizer):
    widths = fitted_widths(HEADER, ROWS, width, wraps=("optimizer",))
    # The other columns at their narrowest (the header wraps at its spaces) ...
    assert widths == [8, 8, optimizer]
    # ... and the table never wider than asked, nor wider than its text needs.
    assert table_width(widths) <= width
