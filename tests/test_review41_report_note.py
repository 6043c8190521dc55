"""The report's note over a cut per-class table promises the pairs most often confused
only where it shows them (a run with none confused, or no matrix kept, got the promise
and no table), and counts the classes once ("100 classes: the 8 of 100 classes")."""

from test_report41_few_scored import few_scored

from cnnlab.train.report_evaluation import ShownEvaluation, per_class_tables


def _note(acc, matrix):
    rows = [[name, "", "", ""] for name in acc]
    page = "".join(per_class_tables(ShownEvaluation(1, acc, matrix, True), rows))
    return page, page.split("<p class=note>")[1].split("</p>")[0]


def test_no_confused_pairs_are_promised_where_none_are_shown():
    names = [f"kind{i:03d}" for i in range(40)]
    perfect = [[5 if i == j else 0 for j in range(40)] for i in range(40)]
    page, note = _note(dict.fromkeys(names, 1.0), perfect)
    assert "Most often confused" not in page and "confused" not in note, note


def test_few_scored_classes_are_counted_once():
    names, matrix, acc = few_scored()
    page, note = _note(dict(zip(names, acc, strict=True)), matrix)
    assert note.startswith("The 8 of 100 classes that had test images scored, then the pairs")
    assert "Most often confused" in page
