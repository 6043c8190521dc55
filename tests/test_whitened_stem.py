"""The whitened first convolution: its filters really whiten, and training keeps them."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models import get_model
from cnnlab.models.whitened_stem import (
    EIGENVALUE_FLOOR,
    patch_covariance,
    whiten_stem,
)


def correlated_images(n=64, channels=1, size=12, seed=0):
    """Smoothed noise: neighbouring pixels strongly correlated, a non-zero mean."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, size + 4, size + 4, generator=gen)
    x = F.avg_pool2d(x, 3, stride=1)[:, :, :size, :size]  # correlate neighbours
    return 0.5 + 0.3 * x


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_patch_covariance_matches_a_direct_computation(stride, padding):
    conv = nn.Conv2d(2, 8, 3, stride=stride, padding=padding)
    images = correlated_images(channels=2)
    batches = [images[:20], images[20:50], images[50:]]  # statistics summed over batches
    mean, cov = patch_covariance(batches, conv)
    patches = F.unfold(images.double(), 3, stride=stride, padding=padding)
    patches = patches.transpose(1, 2).reshape(-1, 18)
    torch.testing.assert_close(mean, patches.mean(0))
    torch.testing.assert_close(cov, torch.cov(patches.T, correction=0))


def test_whitened_channels_are_uncorrelated_with_unit_variance():
    conv_model = nn.Sequential(nn.Conv2d(1, 24, 3, bias=True), nn.ReLU())
    images = correlated_images(n=256)
    whiten_stem(conv_model, [images])
    conv = conv_model[0]
    # +v and -v alternate.
    torch.testing.assert_close(conv.weight[0::2][:9], -conv.weight[1::2][:9])
    with torch.no_grad():
        out = conv(images)[:, 0:18:2]  # the nine "+" channels
    features = out.transpose(0, 1).reshape(9, -1).double()
    cov = torch.cov(features, correction=0)
    eigenvalues = torch.linalg.eigvalsh(patch_covariance([images], conv)[1]).flip(0)
    # Directions above the floor come out with variance 1; those raised to the floor less.
    above = eigenvalues >= EIGENVALUE_FLOOR * eigenvalues[0]
    expected = torch.where(above, 1.0, eigenvalues / (EIGENVALUE_FLOOR * eigenvalues[0]))
    torch.testing.assert_close(cov, torch.diag(expected), atol=1e-4, rtol=1e-4)
    # The bias centres each whitened channel.
    torch.testing.assert_close(features.mean(1), torch.zeros(9, dtype=torch.float64),
                               atol=1e-5, rtol=0)


def test_filters_beyond_the_patch_dimensions_keep_their_initialisation():
    model = nn.Sequential(nn.Conv2d(1, 24, 3, bias=False))  # 9 patch dimensions, 24 filters
    before = model[0].weight.detach().clone()
    assert whiten_stem(model, [correlated_images()], freeze=False) == "0"
    assert not torch.equal(model[0].weight[:18], before[:18])
    torch.testing.assert_close(model[0].weight[18:], before[18:], rtol=0, atol=0)
    assert model[0].weight.requires_grad  # freeze=False


def test_whitening_refuses_what_it_cannot_whiten():
    with pytest.raises(ValueError, match=r"\(features.0\) is cnnlab.ops.modules.Conv2d"):
        whiten_stem(get_model("lenet_modern", scratch_ops=True), [correlated_images()])
    grouped = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2))
    with pytest.raises(ValueError, match="groups=2"):
        whiten_stem(grouped, [correlated_images(channels=2)])
    with pytest.raises(ValueError, match="no convolution"):
        whiten_stem(nn.Sequential(nn.Linear(2, 2)), [])
    with pytest.raises(ValueError, match="no images"):
        whiten_stem(nn.Sequential(nn.Conv2d(1, 4, 3)), [])


def test_trainer_whitens_the_stem_and_training_leaves_it_alone():
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig
    from cnnlab.train.config import ConfigError
    from cnnlab.train.trainer import Trainer

    data = make_synthetic(num_train=128, num_test=64)
    cfg = TrainConfig(model="speednet", epochs=1, batch_size=32, device="cpu", quiet=True,
                      lr=0.05, momentum=0.9, weight_decay=5e-4, ema_decay=0.9,
                      whiten_stem=True, channels_last=True)
    trainer = Trainer(cfg, data)
    stem = trainer.model.features[0]
    whitened = stem.weight.detach().clone()
    # The same filters as whitening the training images by hand (as the model sees them).
    by_hand = get_model("speednet", num_classes=10)
    whiten_stem(by_hand, [data.train.images.float() / 255])
    torch.testing.assert_close(whitened, by_hand.features[0].weight, atol=1e-4, rtol=1e-4)
    assert not stem.weight.requires_grad
    optimized = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert id(stem.weight) not in optimized
    other = trainer.model.features[4].weight.detach().clone()
    trainer.fit()
    torch.testing.assert_close(stem.weight, whitened, rtol=0, atol=0)  # not decayed either
    assert not torch.equal(trainer.model.features[4].weight, other)  # the rest trained
    with pytest.raises(ConfigError, match="whiten_stem: .*cnnlab.ops.modules.Conv2d"):
        Trainer(TrainConfig(model="lenet_modern", device="cpu", quiet=True,
                            whiten_stem=True, scratch_ops=True), data)
    with pytest.raises(ConfigError, match="overwrite the first layer of the loaded weights"):
        TrainConfig(model="resnet18", whiten_stem=True, weights="some.safetensors").validate()
    with pytest.raises(ConfigError, match="whiten_stem"):
        TrainConfig(model="speednet", whiten_stem="yes").validate()
