"""Numbers as people read them in tables, figures and messages: significant figures,
decimal prefixes, byte sizes (binary: KiB, MiB), percentages, ordinals, lists cut short
("a, b and 3 more"), settings as config.yaml writes them, rich tables as plain text, and
tables narrowed to fit a terminal. One room, so the zoo, the
throughput table, the design report, `cnnlab models`, `cnnlab summary`, `cnnlab compare`
and the run report write a count (and a size in bytes) the same way."""

from __future__ import annotations

import json
import math


def _round_sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}") if x else 0.0


def sig3(x: float) -> str:
    """Three significant figures, thousands separated: 14055 -> '14,100', 13.85 -> '13.8'."""
    r = _round_sig(x)
    return f"{r:,.0f}" if abs(r) >= 100 else f"{r:.3g}"


def si(x: float, digits: int = 3) -> str:
    """An SI-prefixed count to ``digits`` significant figures, trailing zeros dropped
    (axis ticks read '1M', not '1.00M'): 281640 -> '282K', 1.8e9 -> '1.8G'."""
    r = _round_sig(x, digits)
    if r == 0:
        return "0"
    for scale, prefix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"),
                          (1e3, "K")):
        if abs(r) >= scale:
            return f"{r / scale:.{digits}g}{prefix}"
    return f"{r:.{digits}g}"


# The prefixes of a count and the units of a size, a power of 1000 (1024) apart: up to
# exa, as 1e18 MACs (a large model at a large batch) is still 1.00E, not 1000000000G.
COUNT_PREFIXES = ("", "K", "M", "G", "T", "P", "E")
BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _three_figures(n: float, base: int = 1000) -> tuple[str, int]:
    """``n`` over the largest power of ``base`` it reaches, to three significant figures
    with zeros kept (so a column lines up): ``(text, power)``, power 0 to 6. A value that
    would take four digits of a power is written in the next (999,600 is 1.00 of
    thousands', not 1000 of ones; with base 1024, 1,000 is 0.977 of 1024s, not 1000)."""
    for power in range(len(COUNT_PREFIXES) - 1, 0, -1):
        scale = float(base)**power
        if abs(n) >= scale / base * 999.5:  # 1000 of the power below, once rounded
            value = n / scale
            # 0.977 (base 1024 only), 1.68, 45.3, unless rounding makes it 1.000, 10.00,
            # 100.0
            for decimals in (3, 2, 1):
                if abs(value) < 10 ** (3 - decimals) - 0.5 * 10**-decimals:
                    return f"{value:.{decimals}f}", power
            return f"{value:.0f}", power
    return f"{n:.0f}", 0


def format_count(n: float) -> str:
    """A count in three significant figures with a decimal prefix, zeros kept so a
    column's values line up: 2.41M, 1.80G, 290K, 45.3K, 999, and 999,999 is 1.00M, not
    1000K (the same precision for MACs, parameters and activations); 1.52T, not 1522G
    (VGG-11's MACs at 224 x 224 and batch 200). "-" for NaN or infinity, as a table
    writes a number it does not know."""
    if not math.isfinite(n):
        return "-"
    text, power = _three_figures(float(n))
    return text + COUNT_PREFIXES[power]


def format_bytes(n: float) -> str:
    """Bytes in binary units, as every memory number cnnlab measures is given (the CUDA
    allocator's and the process's peak, `bench memory`, `data info`, BENCHMARKS.md):
    '999 B', '0.977 KiB' (1000 B: never four digits of a unit), '1.46 KiB', '45.3 KiB',
    '2.38 MiB', '2.79 GiB', '1.50 TiB' (not '1536 GiB'); "-" for NaN or infinity.
    `cnnlab summary` had written decimal kB and MB, so its training activations (the
    counter `bench memory` reads) differed from that bench's MiB for one model and input."""
    if not math.isfinite(n):
        return "-"
    text, power = _three_figures(float(n), base=1024)
    return f"{text} {BYTE_UNITS[power]}"


# A duration past this many seconds is given in minutes, past the next in hours (the
# tables, the run report and compare's clock alike).
MINUTES_FROM, HOURS_FROM = 600, 36_000


def seconds_text(value: float | None) -> str:
    """Seconds as a table shows a duration: "37.0 s", "12.5 min", "3.2 h"; "-" unknown."""
    if value is None or not math.isfinite(value):
        return "-"
    # The unit by the number as written: 599.96 s is "10.0 min", not "600.0 s" (nor
    # 35,999 s "600.0 min"), as a count of 999,999 is 1.00M, not 1000K.
    for scale, unit, upto in ((1, "s", MINUTES_FROM), (60, "min", HOURS_FROM)):
        text = f"{value / scale:.1f}"
        if float(text) < upto / scale:
            return f"{text} {unit}"
    return f"{value / 3600:.1f} h"


def number_as_typed(value) -> str:
    """A setting's number as a user types it: 30 for 30.0, 1e-05, and every digit where
    fewer would hide a difference (0.1 and 0.10000001 both read "0.1" under :g)."""
    if not isinstance(value, float):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def first_few(names: list[str], most: int = 5) -> str:
    """The first ``most`` of ``names`` and a count of the rest, as a message lists what
    it found: "a, b, c, d, e and 3 more"; all of them where that is ``most`` or fewer,
    "" for none. ``most=1``: "conv1.weight and 2 more"."""
    left = len(names) - most
    return ", ".join(names[:most]) + (f" and {left} more" if left > 0 else "")


def and_list(names: list[str]) -> str:
    """Names as a sentence lists them: "a", "a and b", "a, b and c" ("" for none)."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def percent_text(share: float | None, decimals: int = 2) -> str:
    """A share (an accuracy) as a percentage: 0.91234 -> "91.23%"; "-" where it is not
    known (None, NaN), as :func:`seconds_text` writes an unknown duration in a table.
    A share short of 1 never reads 100% (0.99998 -> "99.99%"), one above 0 never 0%."""
    if share is None or not math.isfinite(share):
        return "-"
    percent, step = 100 * share, 10.0 ** -decimals
    if 0 < share < 1:  # 100% only for a perfect score (not 49,999 of 50,000), 0% for none
        percent = min(max(percent, step), 100 - step)
    return f"{percent:.{decimals}f}%"


def counted(n, noun: str) -> str:
    """'1 epoch', '2 epochs', '0 epochs': ``n`` and ``noun``, plural unless n is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def setting_text(value) -> str:
    """A setting as config.yaml writes it: null, true/false, {...} and [...] (the run
    report's settings, the differences `cnnlab compare` lists)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def rich_as_text(*renderables, width: int = 200) -> str:
    """rich tables and text as plain text (no colour, lines right-stripped): the
    ``str()`` of a summary or a comparison. ``force_jupyter=False``: in a notebook rich
    would send the output to the notebook's display, not to the string (it was '')."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False,
                      force_terminal=False, force_jupyter=False, emoji=False)
    for renderable in renderables:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())


def narrowest_widths(header: list[str], rows: list[list[str]],
                     wraps: tuple[str, ...] = ()) -> list[int]:
    """Each column of a table as narrow as it goes with no cell folded: its widest cell,
    or its header's longest word (rich wraps a header at its spaces). A column named in
    ``wraps`` holds text that may wrap at its spaces too: its cells' longest word."""
    from rich.cells import cell_len

    def longest(cell: str, name: str) -> int:
        return max(map(cell_len, cell.split()), default=0) if name in wraps else cell_len(cell)

    return [max([max(map(cell_len, name.split()), default=0),
                 *(longest(row[i], name) for row in rows)]) for i, name in enumerate(header)]


def table_width(widths: list[int]) -> int:
    """The characters a rich table's columns of these widths take: each with two of
    padding and a rule (a space in the borderless boxes), and the last rule."""
    return sum(w + 3 for w in widths) + 1


def without_columns(header: list[str], rows: list[list[str]],
                    left_out: list[str]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a table with the columns named in ``left_out`` taken out."""
    kept = [i for i, name in enumerate(header) if name not in left_out]
    return [header[i] for i in kept], [[row[i] for i in kept] for row in rows]


def columns_left_out(header: list[str], rows: list[list[str]], width: int | None,
                     leave_out_first: list[str], wraps: tuple[str, ...] = ()) -> list[str]:
    """The columns a table goes without to fit ``width`` characters with no word folded
    mid-way (an 80-column terminal had cut "lenet_bn_d2l" into lines of four letters):
    ``leave_out_first`` in order, as few as fit; none when it fits or ``width`` is None.
    ``wraps``: the columns whose text may wrap at its spaces (:func:`narrowest_widths`)."""
    left_out: list[str] = []
    for name in [None, *leave_out_first]:
        if name is not None and name in header and name not in left_out:
            left_out.append(name)
        if width is None or table_width(narrowest_widths(
                *without_columns(header, rows, left_out), wraps)) <= width:
            break
    return left_out


# A column that must fold to fit is kept this wide while another can give up room
# instead (at 40 columns, "best test acc" had gone down to nothing).
FOLDED_WIDTH = 6


def fitted_widths(header: list[str], rows: list[list[str]],
                  width: int | None, wraps: tuple[str, ...] = ()) -> list[int | None]:
    """The width to give each column: None (rich's choice) where the headers fit on one
    line, else each column's narrowest, so that rich wraps the headers at their spaces
    rather than folding the cells. Where even the narrowest table is too wide, the
    columns after the first give up the difference, the widest first, down to
    :data:`FOLDED_WIDTH`; only then the first (what each row is: a run, a model, a
    setting). Left to rich, every column shrank alike, and with many columns the first
    went down to nothing (`cnnlab compare`'s 9 runs lost their setting names).

    ``wraps``: columns whose text may wrap at its spaces. They are measured by their
    longest word, and get what room is left over, up to their whole text: measured
    whole, "1.9x sgd (0.91-1.1)" had `bench throughput` cut its "optimizer" header to
    "optim…" at 60 columns to make room for a column that could have wrapped."""
    from rich.cells import cell_len

    whole = narrowest_widths(header, rows)
    one_line = table_width([max(cell_len(h), w) for h, w in zip(header, whole, strict=True)])
    if width is None or one_line <= width:
        return [None] * len(header)
    narrowest = narrowest_widths(header, rows, wraps)
    widths, floors = list(narrowest), [min(w, FOLDED_WIDTH) for w in narrowest]
    for i in (i for i, name in enumerate(header) if name in wraps):  # the room left over
        widths[i] += max(0, min(whole[i] - widths[i], width - table_width(widths)))
    for _ in range(table_width(widths) - width):
        shrinkable = ([i for i in range(1, len(widths)) if widths[i] > floors[i]]
                      or [i for i in range(len(widths)) if widths[i] > floors[i]]
                      or [i for i in range(len(widths)) if widths[i] > 1])
        if not shrinkable:
            break
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
    return widths


def column_groups(header: list[str], rows: list[list[str]], width: int | None) -> list[list[int]]:
    """A table too wide for ``width`` as several: the indices of each part's columns,
    every part starting with the first column (what each row is) and taking as many of
    the next as fit at their narrowest (one at least), the parts as even as that allows
    (9 runs as 3, 3 and 3, not 4, 4 and 1; 7 as 3, 2 and 2). One part, all columns,
    where it fits."""
    narrowest = narrowest_widths(header, rows)
    others = list(range(1, len(header)))

    def fits(group: list[int]) -> bool:
        return table_width([narrowest[j] for j in [0, *group]]) <= width

    def split(parts: int | None) -> list[list[int]]:
        """Each part filled in turn, up to its share of the columns left (as many as fit,
        where ``parts`` is None)."""
        groups: list[list[int]] = []
        left = others
        while left:
            share = len(left) if parts is None else -(-len(left) // max(1, parts - len(groups)))
            size = 1  # one at least, fitting or not
            while size < min(share, len(left)) and fits(left[:size + 1]):
                size += 1
            groups.append(left[:size])
            left = left[size:]
        return [[0, *group] for group in groups]

    if width is None or table_width(narrowest) <= width or not others:
        return [list(range(len(header)))]
    greedy = split(None)
    even = split(len(greedy))  # 7 columns in three parts: 3, 2 and 2, not 3, 3 and 1
    return even if len(even) == len(greedy) else greedy


def left_out_caption(left_out: list[str], width: int | None, elsewhere: str) -> str | None:
    """A narrowed table's caption: which columns it leaves out and where to see them."""
    if not left_out:
        return None
    return (f"not shown at {width} columns: {', '.join(left_out)} "
            f"(widen the terminal, or {elsewhere})")


def markdown_table(header: list[str], rows: list[list[str]], right: tuple[str, ...] = ()) -> str:
    """A Markdown table, the columns named in ``right`` right-aligned (numbers). A "|"
    inside a cell is escaped: a failed model's error message holding one had its row
    split into one cell too many."""
    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "".join("---:|" if name in right else "---|" for name in header)
    return "\n".join([line(header), rule, *map(line, rows)]) + "\n"


# What cnnlab's tables and messages print beyond ASCII, as the nearest ASCII, for an output
# whose encoding lacks them (Windows' cp1252 has no "→", an ASCII locale not even "±").
# "…" stays one character: rich adds it to a cut cell after it has measured the row.
ASCII_LOOKALIKES = {"→": "->", "−": "-", "Δ": "d", "α": "a", "≥": ">=", "≤": "<=",
                    "σ": "s", "±": "+/-", "·": "-", "—": "-", "–": "-", "†": "*", "…": "~"}
LOOKALIKE_ERRORS = "cnnlab.lookalike."  # the error handlers' names: this, then the fallback


def lookalike_errors(fallback: str) -> str:
    """The name of an encoding error handler (registered on first use) that writes a
    character the encoding cannot hold as its ASCII look-alike, else as ``fallback`` (an
    error handler's name: "backslashreplace" writes "\\u4e2d") writes it, else as "?".
    The last: under a C locale stdout's "surrogateescape" raised on "…", whose look-alike
    there was none, and ended `cnnlab summary` in a narrow terminal."""
    import codecs

    name = LOOKALIKE_ERRORS + fallback
    try:
        codecs.lookup_error(name)
        return name
    except LookupError:
        pass
    otherwise = codecs.lookup_error(fallback)

    def handler(error: UnicodeError) -> tuple[str | bytes, int]:
        if not isinstance(error, UnicodeEncodeError):
            raise error
        first = error.object[error.start]  # one at a time: the codec calls again for the rest
        if first in ASCII_LOOKALIKES:
            return ASCII_LOOKALIKES[first], error.start + 1
        one = UnicodeEncodeError(error.encoding, error.object, error.start, error.start + 1,
                                 error.reason)
        try:
            return otherwise(one)
        except UnicodeError:
            return "?", error.start + 1
    codecs.register_error(name, handler)
    return name


def as_written(text: str, encoding: str, errors: str = "strict") -> str:
    """``text`` as a stream of ``encoding`` will write it, each character it cannot hold as
    :func:`lookalike_errors` writes it (``errors``: the stream's own handler, the fallback;
    "strict" falls back to "?"). rich lays a table out from this, not from ``text``: a
    look-alike put in at the stream came after rich had measured the row, and "+/-" for
    "±" pushed the borders out of line (as "?" for a two-column "猫" pulled them in)."""
    if text.isascii() or encoding.lower().replace("-", "").startswith("utf"):
        return text
    try:
        data = text.encode(encoding, lookalike_errors(errors.removeprefix(LOOKALIKE_ERRORS)))
    except LookupError:  # an encoding or a handler Python does not know: leave it be
        return text
    return data.decode(encoding, "surrogateescape")


def four_figures(value: float) -> str:
    """``value`` to 4 significant figures, as a repr shows a result's number; one of 10,000
    or more whole (a run's 12345.6 seconds read "1.235e+04"). NaN and inf as Python says."""
    short = f"{value:.4g}"
    # Whether it is 10,000 or more as rounded: 9999.95 is 10,000 to 4 figures ("1e+04")
    return f"{value:.0f}" if 1e4 <= abs(float(short)) < 1e15 else short


def rounded_repr(obj) -> str:
    """A dataclass's repr with every float to 4 significant figures (inside dicts, lists
    and tuples too) and paths as text: as ``__repr__ = rounded_repr``, for results a
    notebook shows, whose default repr printed 0.21055163272601085 and 1.4901161193847656e-08.
    The attributes keep every digit."""
    from dataclasses import fields
    from pathlib import PurePath

    def short(value) -> str:
        if isinstance(value, float):
            return four_figures(value)
        if isinstance(value, PurePath):
            return repr(str(value))
        # The built-in containers only: a subclass's repr says more than braces would (a
        # named tuple's field names, a defaultdict's factory), so it is shown as it is.
        if type(value) is dict:
            return "{" + ", ".join(f"{short(k)}: {short(v)}" for k, v in value.items()) + "}"
        if type(value) is list:
            return "[" + ", ".join(map(short, value)) + "]"
        if type(value) is tuple:
            return "(" + ", ".join(map(short, value)) + ("," if len(value) == 1 else "") + ")"
        return repr(value)

    shown = ", ".join(f"{f.name}={short(getattr(obj, f.name))}" for f in fields(obj) if f.repr)
    return f"{type(obj).__name__}({shown})"
