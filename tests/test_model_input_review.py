"""What a wrong input is told, where a model's forward (ModelInputError, for a tensor
x) and summary (for an input_size) both say it: each says its own fix once, torch's words
and the failing layer kept; an out-of-memory error stays one; a model built for one size
names that size."""

from __future__ import annotations

import pytest
import torch

from cnnlab.inspect import SummaryError, count_macs, summary
from cnnlab.models import ModelInputError, get_model


def test_summary_of_a_channels_last_size_says_its_own_fix_and_torchs_words():
    with pytest.raises(SummaryError) as caught:
        summary(get_model("lenet_d2l"), (28, 28, 1))
    said = str(caught.value)
    assert "in module 'features.0' (Conv2d)" in said, said  # the layer, not '<model>'
    assert "expected input[1, 28, 28, 1] to have 1 channels" in said, said
    assert "try input_size (1, 28, 28)" in said and "x.permute" not in said, said


def test_summary_below_the_least_size_keeps_torchs_words_and_says_the_size_once():
    with pytest.raises(SummaryError) as caught:
        summary(get_model("alexnet_d2l"), (1, 28, 28))
    said = str(caught.value)
    assert "Output size is too small" in said and said.count("65x65") == 1, said


def test_count_macs_raises_the_models_own_error():
    with pytest.raises(RuntimeError, match="expected input") as caught:
        count_macs(get_model("lenet_d2l"), (28, 28, 1))
    assert not isinstance(caught.value, ModelInputError)


def test_out_of_memory_under_autocast_stays_out_of_memory():
    model = get_model("resnet18", num_classes=10)

    def out_of_memory(*args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    model.conv1.register_forward_hook(out_of_memory)
    x = torch.rand(1, 3, 32, 32, dtype=torch.bfloat16)  # a half input autocast takes
    with pytest.raises(torch.OutOfMemoryError), torch.autocast("cpu", torch.bfloat16):
        model(x)


def test_a_model_built_for_one_size_names_that_size():
    with pytest.raises(ModelInputError) as caught:
        get_model("lenet_d2l")(torch.rand(1, 1, 8, 8))
    said = str(caught.value)
    assert "this one was built for 28x28" in said and "resize them to 28x28" in said, said
    assert "to a side S of at least 12 and build one for it: get_model('lenet_d2l', " \
        "image_size=S)" in said, said
