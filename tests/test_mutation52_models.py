"""Layer settings and heads of speednet, the pre-activation ResNets and the book DenseNet
that no test pinned: a padding, a pool kind, the head's pooling or the dropout could
change with every other test passing (session 42's mutation pass)."""

import pytest
import torch
from torch import nn

from cnnlab.models import get_model
from cnnlab.models.preact_resnet import wide_resnet_cfg


def _convs(model):
    return [(m.kernel_size, m.stride, m.padding) for m in model.modules()
            if isinstance(m, nn.Conv2d)]


def test_speednet_keeps_28_px_to_7_with_one_5x5_conv_and_max_pools():
    model = get_model("speednet").eval()
    assert _convs(model) == [((5, 5), (1, 1), (2, 2)), ((3, 3), (1, 1), (1, 1)),
                             ((3, 3), (1, 1), (1, 1))]
    pools = [m for m in model.features if isinstance(m, nn.modules.pooling._MaxPoolNd)]
    assert len(pools) == 2 and not any(isinstance(m, nn.AvgPool2d) for m in model.modules())
    with torch.no_grad():
        assert model.forward_features(torch.zeros(1, 1, 28, 28)).shape == (1, 96, 7, 7)
    gpu = get_model("speednet_gpu")
    assert [k for k, _, _ in _convs(gpu)] == [(3, 3)] * 6


@pytest.mark.parametrize("head_pool", ["avgmax", "avg"])
def test_speednet_head_pools_as_named(head_pool):
    model = get_model("speednet", head_pool=head_pool).eval()
    feats = torch.randn(2, 96, 3, 3, generator=torch.Generator().manual_seed(0))
    pooled = model.forward_head(feats, pre_logits=True)
    expected = feats.mean(dim=(2, 3))
    if head_pool == "avgmax":
        expected = torch.cat([feats.amax(dim=(2, 3)), expected], dim=1)
    torch.testing.assert_close(pooled, expected)


@pytest.mark.parametrize("name", ["speednet_wide", "speednet_gpu"])
def test_the_gpu_speednets_drop_a_tenth_of_the_pooled_features_in_training(name):
    model = get_model(name)
    assert model.dropout.p == 0.1
    feats = torch.ones(64, 256, 2, 2)
    torch.manual_seed(0)
    dropped = (model.train().forward_head(feats, pre_logits=True) == 0).float().mean()
    assert 0.05 < dropped < 0.15
    assert (model.eval().forward_head(feats, pre_logits=True) != 0).all()


def test_preact_block_projects_the_activated_input_and_ends_in_bn_relu():
    model = get_model("preact_resnet18").eval()
    block = model.layer2[0]
    x = torch.randn(1, 64, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pre = block.act(block.bn1(x))
        expected = block.conv2(block.act(block.bn2(block.conv1(pre)))) + block.shortcut(pre)
        torch.testing.assert_close(block(x), expected)
        out = model.forward_features(torch.randn(2, 1, 28, 28))
    assert (out >= 0).all()  # the final BN -> ReLU
    # Stage 1 keeps 28 px, each later stage halves: 28 -> 14 -> 7 -> 4.
    assert out.shape == (2, 512, 4, 4)
    assert [b.conv1.stride for b in model.layer1] == [(1, 1), (1, 1)]


def test_wrn_dropout_sits_between_the_two_convolutions():
    model = get_model("wrn40_4", drop_rate=0.3)
    block = model.layer1[0]
    calls = []
    for name in ("conv1", "dropout", "conv2"):
        getattr(block, name).register_forward_hook(lambda m, i, o, n=name: calls.append(n))
    block(torch.randn(1, 16, 4, 4))
    assert calls == ["conv1", "dropout", "conv2"]
    assert isinstance(block.dropout, nn.Dropout) and block.dropout.p == 0.3
    assert wide_resnet_cfg(10, 1).depths == (1, 1, 1)
    with pytest.raises(ValueError, match="6n \\+ 4 with n >= 1"):
        wide_resnet_cfg(4, 1)  # n = 0: stages without blocks


def test_book_densenet_convs_keep_their_bias_and_end_in_relu():
    model = get_model("densenet_d2l").eval()
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        assert (model.forward_features(torch.randn(2, 1, 96, 96)) >= 0).all()


def test_whitening_raises_near_noise_variances_to_a_hundredth_of_the_largest():
    from cnnlab.models.whitened_stem import whitening_filters

    # Variances 4 and 1e-6: the second is floored at 0.04, so scaled by 5, not by 1000.
    filters = whitening_filters(torch.diag(torch.tensor([1e-6, 4.0], dtype=torch.float64)), 2)
    torch.testing.assert_close(filters.abs(), torch.tensor([[0.0, 0.5], [5.0, 0.0]],
                                                           dtype=torch.float64))


@pytest.mark.parametrize("name", ["densenet_d2l", "densenet121"])
def test_densenet_activations_run_in_place_as_torchvisions(name):
    # Out of place, each dense layer's activation would keep one more map alive: the
    # memory that bench memory and the memory-efficient form are measured against.
    relus = [m for m in get_model(name).modules() if isinstance(m, nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
