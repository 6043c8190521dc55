"""Any text through cnnlab's LaTeX escaper reads back, as TeX typesets it, as that text
(hypothesis): every special character (# $ % & _ { } ~ ^ \\ < > |), cnnlab's symbols, and
hyphens and dashes in any order, which TeX joins ("--" an en dash, "---" an em dash)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.latex_tables import _ESCAPES, escape

# TeX's reading of the output, for the characters escape() writes: each escape as what it
# stands for, "---" and "--" as the dashes TeX's ligatures make, "{}" as nothing.
_BACK = {latex: char for char, latex in _ESCAPES.items() if char not in "–—"}
_LIGATURES = {"---": "—", "--": "–", "{}": ""}
_TOKEN = re.compile("|".join(map(re.escape, sorted([*_BACK, *_LIGATURES], key=len,
                                                       reverse=True))) + "|.", re.S)


def typeset(latex: str) -> str:
    return "".join(_BACK.get(t, _LIGATURES.get(t, t)) for t in _TOKEN.findall(latex))


# "*" and "`" left out: escape() reads **bold** and `code` as Markdown marks.
TEXT = st.text(alphabet=st.sampled_from([*_ESCAPES, "-", "-", "a", "1", " ", "[", "."]),
               max_size=30)


@given(TEXT)
def test_any_text_reads_back_as_itself(text):
    assert typeset(escape(text)) == text


@given(st.text(alphabet="-–—a", max_size=12))
def test_hyphens_and_dashes_in_any_order_read_back(text):
    assert typeset(escape(text)) == text


@pytest.mark.parametrize("text", ["-–", "––", "–-", "—-", "-—", "1–-2"])
def test_a_dash_beside_another_keeps_both(text):
    # "––" had been "----" (an em dash and a hyphen), "-–" "---" (an em dash).
    assert typeset(escape(text)) == text


def test_the_dashes_typed_alone_are_as_before():
    assert escape("1–2 — 3") == "1--2 --- 3" and escape("--lr") == "-{}-lr"
