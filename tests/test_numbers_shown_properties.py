"""Every number cnnlab shows, at its edges (hypothesis properties of cnnlab.formatting):
a count, a size or a duration never reads 1000 of a unit where the next applies, nor a
bigger number as a smaller one; 1e15 parameters and 1e18 MACs keep three figures and a
prefix; what is not a number reads "-"; lists read as English."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.formatting import (
    and_list,
    first_few,
    format_bytes,
    format_count,
    percent_text,
    seconds_text,
    si,
)

_PREFIXES = "KMGTPE"


def _read(text: str, pattern: str, units: dict[str, float]) -> tuple[float, str, float]:
    """What a reader takes ``text`` for: (the number written, its unit, the value)."""
    match = re.fullmatch(pattern, text)
    assert match, f"{text!r} is not a number and a unit"
    number, unit = float(match[1]), match[2]
    return number, unit, number * units[unit]


def _count(text: str):
    return _read(text, r"(-?\d+(?:\.\d+)?)([KMGTPE]?)",
                 {"": 1.0} | {p: 1000.0 ** (i + 1) for i, p in enumerate(_PREFIXES)})


def _size(text: str):
    return _read(text, r"(-?\d+(?:\.\d+)?) ([KMGTPE]iB|B)",
                 {"B": 1.0} | {p + "iB": 1024.0 ** (i + 1) for i, p in enumerate(_PREFIXES)})


def _figures(number_text: str) -> int:
    """Significant figures written (zeros kept): '0.977' 3, '1.00' 3, '45.3' 3."""
    return len(number_text.lstrip("-").replace(".", "").lstrip("0"))


# Up to 1e19: parameters of the largest models (1e12) at a batch, MACs at 1e18 and more.
COUNTS = st.integers(min_value=0, max_value=10**19)


@given(COUNTS)
def test_a_count_is_three_figures_under_1000_of_its_prefix(n):
    number, prefix, value = _count(format_count(n))
    assert abs(number) < 1000, format_count(n)  # 999,999 is 1.00M, 1e12 is 1.00T
    if n >= 1000:
        assert prefix and _figures(number_text=format_count(n).rstrip(_PREFIXES)) == 3
        assert abs(value - n) <= 0.005 * n  # three figures: within half a percent


@given(COUNTS, COUNTS)
def test_a_bigger_count_never_reads_smaller(a, b):
    small, big = sorted((a, b))
    assert _count(format_count(small))[2] <= _count(format_count(big))[2]


@given(COUNTS)
def test_a_size_is_three_figures_under_1000_of_its_binary_unit(n):
    text = format_bytes(n)
    number, unit, value = _size(text)
    assert abs(number) < 1000, text  # 1,000 B is 0.977 KiB, 2**40 B 1.00 TiB
    if n >= 1000:
        assert unit != "B" and _figures(text.split()[0]) == 3, text
        assert abs(value - n) <= 0.005 * n


@given(COUNTS, COUNTS)
def test_a_bigger_size_never_reads_smaller(a, b):
    small, big = sorted((a, b))
    assert _size(format_bytes(small))[2] <= _size(format_bytes(big))[2]


@pytest.mark.parametrize("n, count, size", [
    (999_500_000_000, "1.00T", "931 GiB"),  # had been "1000G"
    # VGG-11's MACs at 224 x 224, batch 200 (`cnnlab summary`): had been "1522G"
    (1_521_818_009_600, "1.52T", "1.38 TiB"),
    (1.5 * 2**40, "1.65T", "1.50 TiB"),  # had been "1536 GiB"
    (10**15, "1.00P", "909 TiB"),  # had been "1000000G" and "931323 GiB"
    (10**18, "1.00E", "888 PiB"),  # had been "1000000000G"
    (float("nan"), "-", "-"),  # had been "nan" and "nan B"
    (float("inf"), "-", "-"),  # had been "infG" and "inf GiB"
])
def test_huge_and_unknown_counts_and_sizes(n, count, size):
    assert (format_count(n), format_bytes(n)) == (count, size)


@given(st.floats(min_value=1, max_value=1e20))
def test_an_axis_tick_never_reads_as_an_exponent(x):
    assert "e" not in si(x)  # si(1e15) had been "1e+03T"


# Up to 30 days, and as many draws again about the changes of unit (10 min, 10 h).
DURATIONS = (st.floats(min_value=0, max_value=30 * 86_400)
             | st.floats(min_value=599, max_value=601)
             | st.floats(min_value=35_990, max_value=36_010))
_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0}


def _seconds(text: str):
    return _read(text, r"(-?\d+\.\d) (s|min|h)", _SECONDS)


@given(DURATIONS)
def test_a_duration_never_reads_600_of_a_unit_where_the_next_applies(seconds):
    number, unit, value = _seconds(seconds_text(seconds))
    assert unit == "h" or number < 600, seconds_text(seconds)
    assert abs(value - seconds) <= 0.0501 * _SECONDS[unit]  # one decimal of its unit


@given(DURATIONS, DURATIONS)
def test_a_longer_duration_never_reads_shorter(a, b):
    short, long = sorted((a, b))
    assert _seconds(seconds_text(short))[2] <= _seconds(seconds_text(long))[2]


@pytest.mark.parametrize("seconds, text", [
    (0.0004, "0.0 s"), (599.96, "10.0 min"),  # had been "600.0 s"
    (35_999, "10.0 h"),  # had been "600.0 min"
    (3 * 86_400, "72.0 h"), (float("nan"), "-"), (None, "-")])
def test_tiny_boundary_and_long_durations(seconds, text):
    assert seconds_text(seconds) == text


@given(st.floats(min_value=0, max_value=1))
def test_a_share_reads_as_a_percentage_from_0_to_100(share):
    text = percent_text(share)
    assert re.fullmatch(r"\d{1,3}\.\d\d%", text) and 0 <= float(text[:-1]) <= 100


def test_a_share_of_nothing_is_unknown_not_nan():
    # 0 correct of 0 images: the callers pass NaN (0/0 in numpy), read as unknown.
    assert percent_text(math.nan) == "-" and percent_text(None) == "-"


NAMES = st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), max_size=12)


@given(NAMES)
def test_a_list_reads_as_english(names):
    text = and_list(names)
    if len(names) < 2:
        assert text == "".join(names)
    else:  # "a, b and c": commas between all but the last two, "and" before the last
        assert text == ", ".join(names[:-1]) + " and " + names[-1]
        assert text.count(", ") == len(names) - 2


@given(NAMES, st.integers(min_value=1, max_value=6))
def test_a_list_cut_short_counts_the_rest(names, most):
    text = first_few(names, most)
    shown, rest = names[:most], len(names) - most
    assert text == ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")
    assert not text.startswith((",", " ")) and "and 0 more" not in text
