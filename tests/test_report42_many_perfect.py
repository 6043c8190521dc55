"""The per-class note of a report of many classes whose model got every test image
right: no "pairs most often confused" promised where none follows."""

from __future__ import annotations

import re

from cnnlab.train.report_evaluation import ShownEvaluation, per_class_tables


def test_many_classes_all_right_say_no_image_was_misclassified():
    names = [f"c{i}" for i in range(40)]
    matrix = [[5 if i == j else 0 for j in range(40)] for i in range(40)]
    shown = ShownEvaluation(1, dict.fromkeys(names, 1.0), matrix, True)
    page = "".join(per_class_tables(shown, [[n, "5", "5", "100.0%"] for n in names]))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert ("40 classes: the 10 of lowest and the 10 of highest accuracy; no test image was "
            "misclassified. Every class is in the table under them") in text
    assert "confused" not in text
