"""The tables of `cnnlab compare`, as text: the runs' results and the settings they differ
in, laid out for a terminal (rich), a notebook (HTML) and ``str()``."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape as html_escape

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    format_count,
    left_out_caption,
    rich_as_text,
    seconds_text,
    without_columns,
)
from cnnlab.train.compare import RunComparison
from cnnlab.train.compared_run import ComparedRun, finite
from cnnlab.train.report import setting_words

# The results table: (header, right-aligned, cell) per column. The time-to-target column
# is put in by :func:`columns` when a target is given.
Column = tuple[str, bool, Callable[[ComparedRun], str]]


def _epochs_text(epochs: float) -> str:
    """2, or 2.9 for a run cut short in its third epoch: rounded down, never to 3.0."""
    return str(epochs) if isinstance(epochs, int) else f"{math.floor(10 * epochs) / 10:.1f}"


def _percent(value: float | None, decimals: int = 2) -> str:
    return f"{100 * value:.{decimals}f}%" if value is not None else "-"


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
    ("best test acc", True, lambda r: _percent(r.best and r.best[0], r.decimals)),
    ("at epoch", True, lambda r: str(r.best[1]) if r.best else "-"),
    ("last test acc", True, lambda r: _percent(r.last_test_acc, r.decimals)),
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


def differences_cells(comparison: RunComparison) -> tuple[list[str], list[list[str]]]:
    """The settings that differ: a row per setting and a column per run, or, where the
    runs outnumber the settings, a row per run (the table stays narrow)."""
    names, differences = comparison.names(), comparison.differences
    if len(names) <= len(differences):
        return (["setting", *names], [[key, *map(setting_words, values)]
                                      for key, values in differences.items()])
    return (["run", *differences], [[name, *(setting_words(v[i]) for v in differences.values())]
                                    for i, name in enumerate(names)])


def _titled_cells(comparison: RunComparison) -> list[tuple[str, tuple[list[str], list]]]:
    parts = [(f"{len(comparison.runs)} runs compared", results_cells(comparison))]
    if comparison.differences:
        parts.append(("Settings that differ", differences_cells(comparison)))
    return parts


# The results table's columns a narrow terminal goes without, the first first: the run,
# its model, its best accuracy and its time to the target are never left out.
_LEFT_OUT_FIRST = ["device", "images/s", "at epoch", "params", "last test acc", "state",
                   "epochs", "train+eval time"]


def rich_tables(comparison: RunComparison, width: int | None = None) -> list:
    """Both tables (the second when any setting differs) for a rich console; given the
    console's ``width``, the results table leaves out what does not fit, and says so."""
    from rich.markup import escape
    from rich.table import Table

    right = {c[0] for c in columns(comparison) if c[1]}
    tables = []
    for number, (title, (header, rows)) in enumerate(_titled_cells(comparison)):
        left_out = columns_left_out(header, rows, width, _LEFT_OUT_FIRST) if number == 0 else []
        header, rows = without_columns(header, rows, left_out)
        table = Table(title=title, title_justify="left", caption_justify="left",
                      caption=left_out_caption(left_out, width, "--csv FILE"))
        for name, column_width in zip(header, fitted_widths(header, rows, width), strict=True):
            table.add_column(escape(name), overflow="fold", width=column_width,
                             justify="right" if name in right else "left")
        for row in rows:
            table.add_row(*map(escape, row))  # a run named "[b]" is not markup
        tables.append(table)
    return tables


def html_tables(comparison: RunComparison) -> str:
    """Both tables and the notes as HTML, for a notebook."""
    from cnnlab.train.report import html_table

    parts = []
    for title, cells in _titled_cells(comparison):
        parts += [f"<h4>{html_escape(title)}</h4>", html_table(*cells, inline_style=True)]
    parts += [f"<p>Note: {html_escape(note)}</p>" for note in comparison.notes()]
    return "".join(parts)


def plain_text(comparison: RunComparison) -> str:
    """Both tables and the notes as plain text (200 columns, no colour)."""
    return rich_as_text(*rich_tables(comparison),
                        *(f"Note: {note}" for note in comparison.notes()))
