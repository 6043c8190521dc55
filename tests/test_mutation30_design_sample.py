"""`cnnlab design sample`'s rows and narrow tables, from drawn networks (nothing trains)."""

from __future__ import annotations

from cnnlab.cli.design_sample import sample_row, sample_table
from cnnlab.design.spaces import sample_trial


def _drawn_with_a_quarter_ratio():
    for i in range(50):
        drawn = sample_trial("anynetx_a", 0, i, image_size=28, in_channels=1, num_classes=10)
        if 0.25 in drawn.config.bottleneck_ratios:
            return i, drawn
    raise AssertionError("no network of the first 50 has a bottleneck ratio of 0.25")


def test_a_bottleneck_ratio_of_a_quarter_reads_0_25():
    # Rounded to one decimal it read 0.2 (round half to even): the paper's b = 4 seen as 5.
    i, drawn = _drawn_with_a_quarter_ratio()
    row = sample_row(i, drawn)
    assert "0.25" in row[3]
    assert row[0] == str(i)


def _caption(table) -> str:
    return " ".join(str(table.caption).split())


def test_a_narrow_table_names_what_it_left_out_and_keeps_the_depths():
    i, drawn = _drawn_with_a_quarter_ratio()
    rows = [sample_row(i, drawn)]
    table = sample_table("anynetx_a", rows, 28, 40)
    shown = [str(column.header) for column in table.columns]
    assert "depths" in shown and "MACs" in shown
    assert "bottleneck ratios" not in shown
    caption = _caption(table)
    assert "not shown at 40 columns: bottleneck ratios" in caption
    assert "less -S" in caption
    wide = sample_table("anynetx_a", rows, 28, 300)
    assert [str(c.header) for c in wide.columns][-3:] == ["MACs", "params", "acts"]
    assert "not shown" not in _caption(wide)
