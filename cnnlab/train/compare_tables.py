"""The tables of `cnnlab compare`, as text: the runs' results and the settings they differ
in, laid out for a terminal (rich), a notebook (HTML) and ``str()``."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape as html_escape

from cnnlab.formatting import (
    column_groups,
    columns_left_out,
    fitted_widths,
    format_count,
    left_out_caption,
    narrowest_widths,
    percent_text,
    rich_as_text,
    seconds_text,
    table_width,
    without_columns,
)
from cnnlab.train.compare import RunComparison
from cnnlab.train.compared_run import ComparedRun, finite
from cnnlab.train.report import setting_words

# The results table: (header, right-aligned, cell) per column. The time-to-target column
# is put in by :func:`columns` when a target is given.
Column = tuple[str, bool, Callable[[ComparedRun], str]]


def _epochs_text(epochs: float) -> str:
    """2, or 2.9 for a run cut short in its third epoch: rounded down, never to 3.0; and
    "<0.1" for a few steps of its first (rounded down, "0.0" read as nothing trained)."""
    if isinstance(epochs, int):
        return str(epochs)
    return "<0.1" if 0 < epochs < 0.1 else f"{math.floor(10 * epochs) / 10:.1f}"


def _count(value: float | None) -> str:
    return format_count(value) if finite(value) else "-"


def _time_to_text(seconds: float | None) -> str:
    if seconds is None:
        return "not reached"
    return "reached (no clock)" if math.isnan(seconds) else seconds_text(seconds)


COLUMNS: list[Column] = [
    ("model", False, lambda r: str(r.config["model"])),
    ("epochs", True, lambda r: f"{_epochs_text(r.epochs_done)}/{r.config['epochs']}"),
    ("state", False, lambda r: r.state),
    ("best test acc", True, lambda r: percent_text(r.best and r.best[0], r.decimals)),
    ("at epoch", True, lambda r: str(r.best[1]) if r.best else "-"),
    ("last test acc", True, lambda r: percent_text(r.last_test_acc, r.decimals)),
    ("params", True, lambda r: _count(r.parameters)),
    ("train+eval time", True, lambda r: seconds_text(r.wall_s)),
    ("images/s", True, lambda r: _count(r.images_per_s)),
    ("device", False, lambda r: r.device or "?"),
]


def columns(comparison: RunComparison) -> list[Column]:
    """:data:`COLUMNS`, with the time to the comparison's target after the total time."""
    target = comparison.target
    if target is None:
        return COLUMNS
    to_target = (f"time to {100 * target:g}%", True,
                 lambda r: _time_to_text(r.time_to(target)))
    at = next(i for i, c in enumerate(COLUMNS) if c[0] == "train+eval time") + 1
    return [*COLUMNS[:at], to_target, *COLUMNS[at:]]


def results_cells(comparison: RunComparison) -> tuple[list[str], list[list[str]]]:
    """The results table as text: a header and one row per run."""
    shown = columns(comparison)
    return (["run", *(c[0] for c in shown)],
            [[name, *(cell(run) for _, _, cell in shown)]
             for run, name in zip(comparison.runs, comparison.names(), strict=True)])


def differences_cells(comparison: RunComparison,
                      by_run: bool | None = None) -> tuple[list[str], list[list[str]]]:
    """The settings that differ: a row per setting and a column per run, or, where the
    runs outnumber the settings, a row per run (the table stays narrow); ``by_run`` picks
    one of the two."""
    names, differences, data = comparison.names(), comparison.differences, comparison.data
    if by_run is None:
        by_run = len(names) > len(differences)
    if not by_run:
        return (["setting", *names], [[key, *(setting_words(v, key, d) for v, d in zip(
            values, data, strict=True))] for key, values in differences.items()])
    return (["run", *differences], [[name, *(setting_words(v[i], k, data[i])
                                             for k, v in differences.items())]
                                    for i, name in enumerate(names)])


RESULTS_TITLE, DIFFERENCES_TITLE = "{} runs compared", "Settings that differ"


def _titled_cells(comparison: RunComparison) -> list[tuple[str, tuple[list[str], list]]]:
    parts = [(RESULTS_TITLE.format(len(comparison.runs)), results_cells(comparison))]
    if comparison.differences:
        parts.append((DIFFERENCES_TITLE, differences_cells(comparison)))
    return parts


# The results table's columns a narrow terminal goes without, the first first: the run,
# its model, its best accuracy and its time to the target are never left out.
_LEFT_OUT_FIRST = ["device", "images/s", "at epoch", "params", "last test acc", "state",
                   "epochs", "train+eval time"]


def _rich_table(title: str, header: list[str], rows: list[list[str]], width: int | None,
                right: set[str], caption: str | None = None):
    from rich.cells import cell_len
    from rich.markup import escape
    from rich.table import Table

    # At least as wide as its title, where the width allows: rich wraps a title to its
    # table's width, and two runs' one setting had "Settings that" over "differ".
    title_width = cell_len(title) if width is None else min(cell_len(title), width)
    table = Table(title=title, title_justify="left", caption_justify="left", caption=caption,
                  min_width=title_width)
    for name, column_width in zip(header, fitted_widths(header, rows, width), strict=True):
        table.add_column(escape(name), overflow="fold", width=column_width,
                         justify="right" if name in right else "left")
    for row in rows:
        table.add_row(*map(escape, row))  # a run named "[b]" is not markup
    return table


def _headers_in_two_lines(header: list[str], rows: list[list[str]], width: int) -> bool:
    """Whether a table fits ``width`` with no cell folded and its headers in two lines
    at most (2 runs' long names at 80 columns)."""
    body = narrowest_widths([""] * len(header), rows)
    return table_width([max(b, -(-h // 2)) for b, h in zip(
        body, narrowest_widths(header, []), strict=True)]) <= width


def _differences_parts(comparison: RunComparison, width: int | None) -> list:
    """The settings table in as many parts as ``width`` needs, each with the setting
    names (or run names) in its first column. The layout of :func:`differences_cells`
    where it fits whole, else the other where that does, else a column per run with the
    runs' names in two lines, else the one that prints fewer lines, in parts. (Left to rich,
    a table too wide shrank every column alike, and 9 runs at 160 columns lost the
    setting names.)"""
    own = differences_cells(comparison)
    layouts = [own, differences_cells(comparison, by_run=own[0][0] == "setting")]
    # Run names may fold in a header (the results table has them whole); setting names not.
    one_part = [cells for cells in layouts if len(column_groups(*cells, width)) == 1] + \
        [cells for cells in layouts if width and cells[0][0] == "setting"
         and _headers_in_two_lines(*cells, width)]
    if one_part:
        return [_rich_table(DIFFERENCES_TITLE, *one_part[0], width, set())]

    def lines(cells) -> int:  # a part's title, three rules, the header and the rows
        return len(column_groups(*cells, width)) * (len(cells[1]) + 5)

    header, rows = min(layouts, key=lines)
    groups = column_groups(header, rows, width)
    what, count = ("runs" if header[0] == "setting" else "settings"), len(header) - 1
    parts = []
    for group in groups:
        first, last = group[1], group[-1]
        which = f"{what[:-1]} {first}" if first == last else f"{what} {first}-{last}"
        parts.append(_rich_table(f"{DIFFERENCES_TITLE} ({which} of {count})",
                                 [header[i] for i in group],
                                 [[row[i] for i in group] for row in rows], width, set()))
    return parts


def rich_tables(comparison: RunComparison, width: int | None = None,
                elsewhere: str = "--csv FILE") -> list:
    """Both tables (the second when any setting differs) for a rich console; given the
    console's ``width``, the results table leaves out what does not fit, and says so
    (``elsewhere``: where to see it all), and the settings table comes in parts."""
    header, rows = results_cells(comparison)
    left_out = columns_left_out(header, rows, width, _LEFT_OUT_FIRST)
    header, rows = without_columns(header, rows, left_out)
    tables = [_rich_table(RESULTS_TITLE.format(len(comparison.runs)), header, rows, width,
                          {c[0] for c in columns(comparison) if c[1]},
                          left_out_caption(left_out, width, elsewhere))]
    if comparison.differences:
        tables += _differences_parts(comparison, width)
    return tables


def html_tables(comparison: RunComparison) -> str:
    """Both tables and the notes as HTML, for a notebook."""
    from cnnlab.train.report import html_table

    parts = []
    for title, cells in _titled_cells(comparison):
        parts += [f"<h4>{html_escape(title)}</h4>", html_table(*cells, inline_style=True)]
    parts += [f"<p>Note: {html_escape(note)}</p>" for note in comparison.notes()]
    return "".join(parts)


# The width of a comparison's ``str()``.
PLAIN_WIDTH = 200


def plain_text(comparison: RunComparison) -> str:
    """Both tables and the notes as plain text (:data:`PLAIN_WIDTH` columns, no colour)."""
    return rich_as_text(*rich_tables(comparison, PLAIN_WIDTH, "to_csv()"),
                        *(f"Note: {note}" for note in comparison.notes()), width=PLAIN_WIDTH)
