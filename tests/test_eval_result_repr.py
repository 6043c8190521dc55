"""EvalResult's repr: what a notebook cell shows for ``evaluate_run(...).result``."""

import math

from cnnlab.train.evaluate import EvalResult


def test_repr_is_one_short_labelled_line():
    per_class = [2 / 3, 1.0, math.nan] + [0.123456789] * 7
    confusion = [[7 if i == j else 1 for j in range(10)] for i in range(10)]
    text = repr(EvalResult(loss=0.70123456, acc=0.7433333333, per_class_acc=per_class,
                           confusion=confusion, count=300))
    assert text.startswith("EvalResult(acc=0.7433, loss=0.7012, count=300, ")
    assert "per_class_acc=[0.667, 1.000, nan, 0.123," in text  # not 0.6666666666666666
    assert "0.123456789" not in text
    assert "confusion=10x10" in text and "[7, 1" not in text  # not the matrix itself
    assert "\n" not in text and len(text) < 250


def test_many_classes_are_cut_short():
    text = repr(EvalResult(loss=1.0, acc=0.5, per_class_acc=[0.5] * 100,
                           confusion=[[0] * 100 for _ in range(100)], count=1000))
    assert "..." in text and "(100 classes)" in text and len(text) < 250
