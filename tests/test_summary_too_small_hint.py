"""summary() of a built model on an input too small for it names the size that works."""

import pytest


def test_a_built_model_too_small_an_input_names_its_least_size_and_how_to_get_it():
    # summary(get_model("alexnet_d2l"), (1, 28, 28)) ended in torch's "Output size is too
    # small" alone: nothing said which size would do, nor that the model's classifier is
    # sized for the input it was built for (so the least size fails on it too).
    from cnnlab import get_model, summary
    from cnnlab.inspect.summary import SummaryError

    with pytest.raises(SummaryError) as caught:
        summary(get_model("lenet_d2l"), (1, 8, 8))
    said = str(caught.value)
    assert "lenet_d2l takes inputs of at least 12x12 pixels" in said
    assert "built for 1x28x28" in said and "summary('lenet_d2l', (1, 12, 12))" in said
    assert summary("lenet_d2l", (1, 12, 12)).totals.params > 0  # the way it names works


def test_a_model_without_a_sized_classifier_is_told_the_input_size_to_try():
    from torch import nn

    from cnnlab.inspect._input import failure_hint

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1))
    model.cnnlab_name = "densenet_d2l"  # its entry: least side 29, no sized classifier
    assert failure_hint(model, (1, 8, 8)) == (". densenet_d2l takes inputs of at least "
                                              "29x29 pixels: try input_size (1, 29, 29)")
    assert failure_hint(model, (1, 29, 29)) == ""  # big enough: the failure is another
    del model.cnnlab_name  # a module of one's own: the registry says nothing of it
    assert failure_hint(model, (1, 8, 8)) == ""
