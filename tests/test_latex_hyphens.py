"""Hyphens a command line writes ("--batch-size 2") stay hyphens in cnnlab's LaTeX tables:
TeX reads "--" as an en dash and "---" as an em dash, so the flag printed as "–batch-size"."""

from cnnlab.latex_tables import escape


def test_double_hyphens_are_kept_apart():
    assert escape("--batch-size 2") == "-{}-batch-size 2"
    assert escape("a---b") == "a-{}-{}-b"
    assert escape("resnet-18") == "resnet-18"  # one hyphen is one hyphen already
    assert escape("1–2") == "1--2"  # an en dash typed as such is still one
    assert escape("`--depth 2`") == r"\texttt{-{}-depth 2}"
