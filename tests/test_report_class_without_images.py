"""The report's per-class table says "n/a (no test images)" for a class the scored test
images had none of, as `cnnlab eval` says it: it read "nan%", then "not evaluated" (which
means an evaluation not made), for the same class."""

import math

from cnnlab.train.report import _per_class_rows
from cnnlab.train.report_evaluation import ShownEvaluation, accuracy_words


def test_a_class_without_test_images_reads_as_in_eval():
    for missing in (None, math.nan):  # summary.json's null, or evaluate's NaN
        shown = ShownEvaluation(epoch=1, per_class_acc={"a": 0.5, "b": missing},
                                confusion=[[1, 1], [0, 0]], is_best=True)
        rows = _per_class_rows(shown)
        assert rows == [["a", "1", "2", "50.0%"], ["b", "0", "0", "n/a (no test images)"]]
    assert accuracy_words(0.913) == "91.30%"  # eval's two decimals kept
