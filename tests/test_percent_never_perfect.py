"""An accuracy short of perfect never reads 100% (49,999 of 50,000 right read "100.00%",
which says no image was missed), and one above nothing never reads 0%."""

import pytest

from cnnlab.formatting import percent_text
from cnnlab.train.report_evaluation import accuracy_words


@pytest.mark.parametrize(("share", "decimals", "text"), [
    (49_999 / 50_000, 2, "99.99%"),
    (4_999 / 5_000, 1, "99.9%"),
    (1.0, 2, "100.00%"),
    (1 / 50_000, 2, "0.01%"),
    (0.0, 1, "0.0%"),
    (0.91234, 2, "91.23%"),
    (0.99994, 2, "99.99%"),
])
def test_only_a_perfect_score_reads_100_percent(share, decimals, text):
    assert percent_text(share, decimals) == text


def test_the_accuracy_a_report_gives_says_so_too():
    assert accuracy_words(49_999 / 50_000) == "99.99%"
