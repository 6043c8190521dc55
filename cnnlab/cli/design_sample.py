"""`cnnlab design sample`'s table: each network drawn (its stages' depths, widths,
bottleneck ratios and group widths) and its complexity, fitted to the terminal."""

from __future__ import annotations

from rich.table import Table

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    format_count,
    left_out_caption,
    without_columns,
)

HEADER = ["#", "depths", "widths", "bottleneck ratios", "group widths", "MACs", "params", "acts"]
# A narrow terminal goes without these first: MACs (what the band is of) and the stages'
# depths and widths stay.
LEAVE_OUT_FIRST = ["bottleneck ratios", "group widths", "acts", "params", "depths"]
# A stage list ("[224, 96, 256, 32]") wraps at its spaces; a count stays whole.
WRAPS = ("depths", "widths", "bottleneck ratios", "group widths")


def sample_row(i: int, sampled) -> list[str]:
    """Network ``i``'s row: ``sampled`` is a :func:`cnnlab.design.spaces.sample_trial`."""
    c = sampled.config
    return [str(i), str(list(c.depths)), str(list(c.widths)),
            str([round(b, 3) for b in c.bottleneck_ratios]), str(list(c.group_widths)),
            format_count(sampled.macs), format_count(sampled.complexity["params"]),
            format_count(sampled.complexity["acts"])]


def sample_table(title: str, rows: list[list[str]], image_size: int, width: int | None) -> Table:
    """The networks drawn as a table ``width`` columns wide at most, every cell folded,
    never cut: left to rich, 40 columns cut the MACs, params and acts to "2…", "9…" and
    "1…", and every header to a letter. Where even folded it would not fit, it goes
    without the columns of :data:`LEAVE_OUT_FIRST` (as few as fit, in order), and its
    caption names them."""
    left_out = columns_left_out(HEADER, rows, width, LEAVE_OUT_FIRST, WRAPS)
    header, rows = without_columns(HEADER, rows, left_out)
    # acts had no unit: the caption says what each count is (three significant figures).
    caption = (f"MACs: multiply-adds per image at {image_size}x{image_size}. params: "
               "parameters. acts: activations per image, the output elements of every conv "
               "and of the head (the RegNet paper's third complexity measure, beside flops "
               "and params). Bottleneck ratio: inner width / block width, 1/b for the "
               "paper's b (0.25: b = 4).")
    shown = left_out_caption(left_out, width, "pipe the output to `less -S`")
    table = Table(title=title, caption="\n".join(filter(None, [caption, shown])),
                  caption_justify="left")
    for name, column_width in zip(header, fitted_widths(header, rows, width, WRAPS), strict=True):
        table.add_column(name, justify="right", width=column_width, overflow="fold")
    for row in rows:
        table.add_row(*row)  # digits, brackets and commas: no markup
    return table
