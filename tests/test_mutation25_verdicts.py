"""The verdict's count of models enough to conclude from, at its edge (session 39's
mutation testing of design/report_text.py): MIN_TRUSTED_N models a space is enough."""

from __future__ import annotations

from cnnlab.design.report_text import MIN_TRUSTED_N, verdict_words


def test_exactly_the_trusted_count_is_enough_and_one_fewer_is_not():
    enough = verdict_words("a", "b", 0.4, 0.0, 0.01, sizes=(MIN_TRUSTED_N, MIN_TRUSTED_N))
    assert enough == ("a better: its normalised EDF is above by up to 0.400 (the normalised "
                      "KS D), never below")
    few = verdict_words("a", "b", 0.4, 0.0, 0.01, sizes=(MIN_TRUSTED_N - 1, MIN_TRUSTED_N))
    assert few.endswith(f"too few models to conclude from (under {MIN_TRUSTED_N} per space: "
                        f"a {MIN_TRUSTED_N - 1}): sample more")
