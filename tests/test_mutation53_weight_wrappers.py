"""A weights file holding its state_dict beside other values (interop._tensors_in),
pinned where session 42's tests left it loose (mutation53): an empty dict is no second
set, two sets beside a loose tensor list what the file holds, and a long dict's listing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.models.interop import read_weights_file


def _state():
    return nn.Linear(3, 2).state_dict()


def test_an_empty_dict_beside_the_weights_is_no_second_set(tmp_path):
    state = _state()
    path = tmp_path / "ckpt.pth"
    torch.save({"net": state, "buffers": {}, "epoch": 3}, path)
    read = read_weights_file(path)
    assert read.keys() == state.keys()


def test_two_sets_beside_a_loose_tensor_list_what_the_file_holds(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({"net": _state(), "ema": _state(), "mask": torch.ones(3)}, path)
    with pytest.raises(ValueError) as caught:
        read_weights_file(path)
    said = str(caught.value)
    assert "it holds 'net' (OrderedDict), 'ema' (OrderedDict), 'mask' (Tensor)" in said, said
    assert "cannot tell which" not in said


def test_a_long_dict_lists_six_of_its_values_and_counts_the_rest(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({name: i for i, name in enumerate("abcdefgh")}, path)
    with pytest.raises(ValueError) as caught:
        read_weights_file(path)
    said = str(caught.value)
    assert ("it holds 'a' (int), 'b' (int), 'c' (int), 'd' (int), 'e' (int), 'f' (int) "
            "and 2 more") in said, said
