"""summary.json writes its confusion matrix a row a line: a mutation test of
cnnlab/train/summary_json.py found the rows could all go on one line (a 300-class matrix
on a 450,000-character line) with test_many_classes_logs still passing."""

from __future__ import annotations

import json

from cnnlab.train.summary_json import summary_json


def test_each_confusion_row_is_a_line_of_its_own():
    matrix = [[10 * i + j for j in range(4)] for i in range(3)]
    text = summary_json({"model": "m", "confusion": matrix, "epochs": 2})
    assert json.loads(text)["confusion"] == matrix
    lines = text.splitlines()
    start = lines.index(' "confusion": [')
    assert lines[start + 1:start + 5] == ["  [0, 1, 2, 3],", "  [10, 11, 12, 13],",
                                          "  [20, 21, 22, 23]", " ],"]
