"""The zoo's Markdown table says which recipe trained its models: zoo-book.md and
zoo-fast.md had the same columns and notes, so once pasted into a page (or printed one
after the other, as scripts/gpu-bench.sh does) nothing told the book's recipe from
cnnlab's."""

from test_bench_zoo_report import LENETS

from cnnlab.bench import zoo_report


def _first_note(rows):
    return next(line for line in zoo_report.markdown_table(rows).splitlines()
                if line.startswith("- test acc:"))


def test_each_table_names_its_preset():
    fast = [{**r, "preset": "fast"} for r in LENETS]
    assert "trained with the book preset" in _first_note(LENETS)
    assert "trained with the fast preset" in _first_note(fast)
    assert "book preset" not in _first_note(fast)


def test_a_row_without_a_preset_is_not_given_one():
    rows = [{k: v for k, v in r.items() if k != "preset"} for r in LENETS]
    assert "recipe not recorded" in _first_note(rows)


def test_the_accuracy_figure_never_rounds_a_miss_to_100_percent():
    # 9,996 of 10,000 right: the table says 99.96%, the figure had said "100.0%"
    rows = [{**LENETS[0], "test_acc": "0.9996"}, {**LENETS[1], "test_acc": "1.0"}]
    [ax] = zoo_report.accuracy_figure(rows).axes
    labels = [t.get_text() for t in ax.texts]
    assert "99.9%" in labels and "100.0%" in labels, labels
