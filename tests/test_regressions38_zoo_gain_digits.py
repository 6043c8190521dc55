"""The zoo table's 'vs the book' column and its note count the same thing: 89.56%
against the book's 87.6% is 1.96 points, which the note rightly does not count among those
that beat the book by 2; the column read "+2.0" beside it."""

from test_bench_zoo_report import ZOO
from test_bench_zoo_vs_book import _cells

from cnnlab.bench import zoo_report


def test_a_gain_just_under_two_points_reads_under_two():
    row = dict(ZOO[2], epochs="10", test_acc="0.8956", book_acc="0.876")
    text = zoo_report.markdown_table([row])
    assert _cells(text, "lenet_bn_d2l")[1:4] == ["89.56%", "87.6% (10 ep)", "+1.96"]
    assert "0 of 1 model(s) beat it by 2 points or more" in " ".join(text.split())
