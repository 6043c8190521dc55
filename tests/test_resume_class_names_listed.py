"""A resume refused for other classes lists the first names and counts the rest ("a, b, c,
d, e and 3 more"), as cnnlab's other messages do: it ended in " ..." with no count."""

import pytest

from cnnlab.data.dataset import DataError
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train.run_data import _check_same_classes


def test_other_classes_are_listed_with_a_count(tmp_path):
    data = make_synthetic(num_train=8, num_test=4, num_classes=10)
    saved = [f"old{i}" for i in range(8)] + list(data.classes[:2])
    checkpoint = tmp_path / "run" / "checkpoints" / "last.safetensors"
    with pytest.raises(DataError) as caught:
        _check_same_classes(checkpoint, {"classes": saved}, data)
    said = str(caught.value)
    assert "not there now: old0, old1, old2, old3, old4 and 3 more;" in said
    assert " ..." not in said
