"""The four-channel stem computes exactly what the one-channel stem computes."""

import copy

import pytest
import torch

from cnnlab.models import get_model
from cnnlab.models.padded_stem import ChannelPaddedConv2d, pad_stem_channels


@pytest.mark.parametrize("channels_last", [False, True])
def test_padded_stem_gives_the_same_outputs_and_gradients(channels_last):
    torch.manual_seed(0)
    plain = get_model("resnet18_d2l").double()
    padded = copy.deepcopy(plain)
    assert pad_stem_channels(padded, channels_last=channels_last) == "b1.0"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    plain, padded = plain.to(memory_format=fmt), padded.to(memory_format=fmt)
    x = torch.randn(3, 1, 40, 40, dtype=torch.float64).to(memory_format=fmt)
    out_plain, out_padded = plain(x), padded(x)
    torch.testing.assert_close(out_padded, out_plain)
    out_plain.square().sum().backward()
    out_padded.square().sum().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), padded.named_parameters(),
                                 strict=True):
        torch.testing.assert_close(b.grad, a.grad, msg=name)
    # Nothing about the weights changed: same keys, same shapes, the stem still 1-channel.
    assert {k: v.shape for k, v in padded.state_dict().items()} == \
        {k: v.shape for k, v in plain.state_dict().items()}
    assert padded.b1[0].weight.shape[1] == 1


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_padded_convolution_reads_four_channels_in_the_layout_asked(monkeypatch,
                                                                         channels_last):
    model = get_model("lenet_modern")
    pad_stem_channels(model, channels_last=channels_last)
    seen = []
    original = torch.nn.functional.conv2d

    def spy(x, w, *args):
        seen.append((x.shape[1], w.shape[1], x.is_contiguous(), w.is_contiguous()))
        return original(x, w, *args)

    monkeypatch.setattr(torch.nn.functional, "conv2d", spy)
    model(torch.randn(2, 1, 28, 28))
    # Four channels, so the layout is unambiguous: NCHW-contiguous or not.
    assert seen[0] == (4, 4, not channels_last, not channels_last)
    assert "padded_channels=4" in repr(model)


def test_padding_refuses_what_it_cannot_pad():
    with pytest.raises(ValueError, match=r"reads 4 channel\(s\); padding needs more"):
        pad_stem_channels(get_model("resnet18", num_classes=10, in_channels=4))
    with pytest.raises(ValueError, match="no convolution"):
        pad_stem_channels(torch.nn.Sequential(torch.nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"\(features.0\) is cnnlab.ops.modules.Conv2d"):
        pad_stem_channels(get_model("lenet_modern", scratch_ops=True))
    model = get_model("lenet_modern")
    pad_stem_channels(model)
    with pytest.raises(ValueError, match="padded_stem.ChannelPaddedConv2d"):
        pad_stem_channels(model)  # twice
    # The refused second call left the first padding as it was.
    stem = model.features[0]
    assert isinstance(stem, ChannelPaddedConv2d) and stem.padded_channels == 4


def test_trainer_pads_the_stem_and_saves_the_ordinary_weights(tmp_path):
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig
    from cnnlab.train.config import ConfigError
    from cnnlab.train.trainer import Trainer

    data = make_synthetic(num_train=128, num_test=64)
    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=64, device="cpu",
                      quiet=True, pad_stem_channels=4, ema_decay=0.9)
    trainer = Trainer(cfg, data)
    trainer.fit()
    assert isinstance(trainer.model.features[0], ChannelPaddedConv2d)
    # The evaluation copy (EMA weights) pads too, and the weights stay one-channel.
    assert isinstance(trainer.eval_model.features[0], ChannelPaddedConv2d)
    assert trainer.model.state_dict()["features.0.weight"].shape[1] == 1
    bad = TrainConfig(model="lenet_modern", device="cpu", quiet=True, pad_stem_channels=1)
    with pytest.raises(ConfigError, match=r"pad_stem_channels=1: .*reads 1 channel\(s\)"):
        Trainer(bad, data)
    with pytest.raises(ConfigError, match="pad_stem_channels"):
        TrainConfig(model="lenet_modern", pad_stem_channels=True).validate()


def test_costs_are_counted_without_the_zero_channels():
    from cnnlab.inspect import count_macs
    from cnnlab.models.padded_stem import plain_stems

    plain = get_model("resnet18_d2l")
    padded = copy.deepcopy(plain)
    pad_stem_channels(padded)
    assert count_macs(padded, (1, 96, 96)) > count_macs(plain, (1, 96, 96))  # the zeros
    with plain_stems(padded) as model:
        assert count_macs(model, (1, 96, 96)) == count_macs(plain, (1, 96, 96))
    assert isinstance(padded.b1[0], ChannelPaddedConv2d)  # and padded again after


def test_a_wrong_number_of_input_channels_is_named():
    model = get_model("lenet_modern")
    pad_stem_channels(model)
    # The model names it for its input (ModelInputError, a ValueError), the stem's own
    # words its cause
    with pytest.raises(ValueError, match=r"takes 1 channel\(s\), this input has 2") as caught:
        model(torch.randn(1, 2, 28, 28))
    assert "expects 1 input channels (padded to 4); got 2" in str(caught.value.__cause__)
