"""Mutation testing of Fashion-MNIST loading (session 38, mutation20): a labels file
with a label past the ten classes must stop the load, naming the file, rather than
reach the loss (on a GPU, a device-side assert far from the cause)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.data import IdxFormatError, load_dataset
from cnnlab.data.idx import write_idx


def test_a_label_past_the_ten_classes_stops_the_load_naming_the_file(data_env) -> None:
    d = data_env / "system"  # the conftest's stand-in for the system copy
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(d / "train-labels-idx1-ubyte", np.array([3, 10], np.uint8))
    write_idx(d / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(IdxFormatError, match="train-labels-idx1-ubyte: label out of range"):
        load_dataset("fashion-mnist", download=False)
