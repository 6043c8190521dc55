"""Negative numbers read as their positive twins do, with a minus (sig3 and si were
tested on positive values only: a sign check on `r >= 100` instead of `abs(r)` printed
-14055 as '-1.41e+04'); a "|" inside a Markdown cell stays in its cell when the table is
turned into LaTeX; "<" and ">" (which pdflatex's default font sets as "¡" and "¿")
and UTF-8 on standard input reach LaTeX as themselves."""

from __future__ import annotations

import io
import sys

import pytest

from cnnlab.formatting import markdown_table, si, sig3
from cnnlab.latex_tables import escape, main, markdown_to_latex


@pytest.mark.parametrize("value", [14055, 13.85, 999.7, 281640, 0.5])
def test_sig3_of_a_negative_number_is_its_positive_text_with_a_minus(value):
    assert sig3(-value) == "-" + sig3(value)


@pytest.mark.parametrize("value", [1500, 281640, 1.8e9, 3e12, 42])
def test_si_of_a_negative_number_is_its_positive_text_with_a_minus(value):
    assert si(-value) == "-" + si(value)
    assert si(-value)[-1] == si(value)[-1]  # the same prefix, never an exponent


def test_a_pipe_in_a_cell_is_escaped_and_stays_in_its_cell_in_latex():
    md = markdown_table(["model", "error"], [["lenet", "shape a|b mismatch"]])
    assert r"a\|b" in md
    assert md.splitlines()[2].count("|") - md.splitlines()[2].count(r"\|") == 3
    latex = markdown_to_latex(md)
    row = next(line for line in latex.splitlines() if "lenet" in line)
    assert row.count("&") == 1 and "mismatch" in row.split("&")[1]


def test_angle_brackets_are_latex_text_symbols():
    assert escape("a<b>c") == r"a\textless{}b\textgreater{}c"


def test_utf8_on_standard_input_is_read_as_utf8(monkeypatch, capsys):
    md = markdown_table(["flow", "change"], [["1x28x28 → 10", "−3 ± 1"]])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(md.encode("utf-8")),
                                                       encoding="latin-1"))
    assert main(["-"]) == 0
    out = capsys.readouterr().out
    assert r"1x28x28 $\rightarrow$ 10 & $-$3 $\pm$ 1" in out
