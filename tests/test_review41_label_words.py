"""A label without a class name says what to do: a negative one (-1 for "unlabelled")
asks for those images to be left out, and splits given no class names say so (the
message read "0 classes: labels 0..-1")."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data import DatasetSplits
from cnnlab.data.dataset import ImageData


def _split(labels):
    return ImageData(torch.zeros(len(labels), 1, 4, 4, dtype=torch.uint8), torch.tensor(labels))


def test_a_negative_label_asks_for_its_images_to_be_left_out():
    with pytest.raises(ValueError, match=r"train label -1 .*leave out the images that have "
                                         "no class"):
        DatasetSplits("mine", _split([0, -1]), _split([0]), ["a", "b"], "made here")


def test_no_class_names_are_said_as_such():
    with pytest.raises(ValueError) as caught:
        DatasetSplits("mine", _split([0]), _split([0]), [], "made here")
    assert "no classes given" in str(caught.value) and "0..-1" not in str(caught.value)
