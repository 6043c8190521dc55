"""Formatting rules a manual mutation test of cnnlab/formatting.py found unchecked: each
test fails on a deliberate one-token change that the suite let pass (a duration's unit
at its boundary, 13th as "13rd", a setting written as Python rather than YAML, ...)."""

from __future__ import annotations

import pytest

from cnnlab.formatting import (
    as_written,
    column_groups,
    columns_left_out,
    narrowest_widths,
    ordinal,
    seconds_text,
    setting_text,
    sig3,
    table_width,
)


@pytest.mark.parametrize("x, text", [(14055, "14,100"), (1234.5, "1,230"), (123.4, "123"),
                                     (13.85, "13.8")])
def test_sig3_separates_thousands_and_never_writes_an_exponent(x, text):
    assert sig3(x) == text


@pytest.mark.parametrize("seconds, text", [(37.0, "37.0 s"), (599.9, "599.9 s"),
                                           (600, "10.0 min"), (35_996, "599.9 min"),
                                           (35_997, "10.0 h"),
                                           (36_000, "10.0 h"), (None, "-"),
                                           (float("nan"), "-"), (float("inf"), "-")])
def test_a_duration_changes_unit_at_ten_minutes_and_ten_hours(seconds, text):
    assert seconds_text(seconds) == text


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                     (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
                                     (22, "22nd"), (23, "23rd"), (101, "101st"),
                                     (111, "111th"), (112, "112th"), (113, "113th")])
def test_ordinals_including_the_teens_of_each_hundred(n, text):
    assert ordinal(n) == text


@pytest.mark.parametrize("value, text", [(None, "null"), (True, "true"), (False, "false"),
                                         ((32, 32), "[32, 32]"), ([1, 2], "[1, 2]"),
                                         ({"a": 1}, '{"a": 1}'), (0.1, "0.1"), ("sgd", "sgd")])
def test_a_setting_is_written_as_config_yaml_writes_it(value, text):
    assert setting_text(value) == text


def test_a_header_wraps_at_its_spaces_so_its_longest_word_sets_the_width():
    assert narrowest_widths(["best test acc", "model"], [["0.9", "lenet"]]) == [4, 5]


def test_a_table_that_fits_exactly_keeps_every_column():
    header, rows = ["model", "params", "macs"], [["lenet", "61.7K", "429K"]]
    exact = table_width(narrowest_widths(header, rows))
    assert columns_left_out(header, rows, exact, ["macs", "params"]) == []
    assert columns_left_out(header, rows, exact - 1, ["macs", "params"]) == ["macs"]


def test_seven_columns_with_room_for_six_come_as_four_and_three_not_six_and_one():
    header = ["runname", *(f"c{i}" for i in range(7))]
    rows = [["runname", *["x" * 6] * 7]]
    assert column_groups(header, rows, 66) == [[0, 1, 2, 3, 4], [0, 5, 6, 7]]


def test_each_character_an_encoding_lacks_is_one_question_mark_or_its_lookalike():
    # rich measures the row from this text: "猫猫" as one "?" would shift the borders.
    assert as_written("a猫猫b", "ascii") == "a??b"
    assert as_written("±3 →", "ascii") == "+/-3 ->"


def test_a_wide_tables_parts_are_as_even_as_the_width_allows():
    # 7 columns that fit 3 a part came as 3, 3 and 1: the last part a lone column.
    from cnnlab.formatting import column_groups

    header = ["runname", *[f"c{i}" for i in range(7)]]
    parts = column_groups(header, [["runname", *["x" * 6] * 7]], 38)
    assert [len(part) - 1 for part in parts] == [3, 2, 2]
    assert all(part[0] == 0 for part in parts)
    assert sorted(j for part in parts for j in part[1:]) == list(range(1, 8))
