"""The report's per-class note of classes without an accuracy says they had no test
image scored: under an eval_subset (5 of 35 test images) it said 30 classes "had no test
image", though each had one, beside a heading of "the 5 of 35 classes that had test
images scored"."""

from cnnlab.train.report_evaluation import ShownEvaluation, per_class_tables


def test_classes_left_out_by_an_eval_subset_are_not_said_to_have_no_test_image():
    names = [f"c{i:02d}" for i in range(35)]
    acc = {name: (0.0 if i < 5 else None) for i, name in enumerate(names)}
    confusion = [[0] * 35 for _ in names]
    for i in range(5):
        confusion[i][30] = 1
    shown = ShownEvaluation(1, acc, confusion, True)
    note = per_class_tables(shown, [[name, "0", "1", "0.0%"] for name in names])[0]
    assert "The 5 of 35 classes that had test images scored" in note
    assert "30 classes had no test image scored." in note
