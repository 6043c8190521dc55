"""A weights file of {"net": state_dict, "acc": tensor(...)}: an accuracy computed on
tensors is saved as a 0-dim tensor, and such a file was refused as holding no mapping of
names to tensors ("it holds 'net' (OrderedDict), 'acc' (Tensor)") though it holds one."""

import pytest
import torch
from torch import nn

from cnnlab.models.interop import read_weights_file


def test_a_scalar_tensor_beside_the_weights_is_not_taken_for_weights(tmp_path):
    state = nn.Linear(3, 2).state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save({"net": state, "acc": torch.tensor(93.1), "epoch": 3}, path)
    read = read_weights_file(path)
    assert read.keys() == state.keys()
    assert all(torch.equal(read[k], state[k]) for k in state)


def test_a_larger_tensor_beside_them_still_picks_none(tmp_path):
    # it may be a weight of its own: which of the two is meant cannot be told
    path = tmp_path / "mixed.pth"
    torch.save({"net": nn.Linear(3, 2).state_dict(), "extra": torch.ones(4)}, path)
    with pytest.raises(ValueError, match="it holds 'net'"):
        read_weights_file(path)
