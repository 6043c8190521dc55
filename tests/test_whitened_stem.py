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


@pytest.mark.parametrize("stride,padding,chunk", [(1, 0, None), (2, 1, 3000)])
def test_patch_covariance_matches_a_direct_computation(stride, padding, chunk, monkeypatch):
    if chunk:  # patches taken a few images at a time: the same sums
        monkeypatch.setattr("cnnlab.models.whitened_stem.PATCH_CHUNK_ELEMENTS", chunk)
    conv = nn.Conv2d(2, 8, 3, stride=stride, padding=padding)
    images = correlated_images(channels=2)
    batches = [images[:20], images[20:50], images[50:]]  # statistics summed over batches
    mean, cov = patch_covariance(batches, conv)
    patches = F.unfold(images.double(), 3, stride=stride, padding=padding)
    patches = patches.transpose(1, 2).reshape(-1, 18)
    torch.testing.assert_close(mean, patches.mean(0))
    torch.testing.assert_close(cov, torch.cov(patches.T, correction=0))


def assert_whitens(conv: nn.Conv2d, images: torch.Tensor) -> None:
    """The "+" channels of ``conv`` on ``images``: uncorrelated, zero mean, variance 1
    along directions above the eigenvalue floor (less, as set, below it)."""
    pairs = min(conv.out_channels // 2, conv.weight[0].numel())
    with torch.no_grad():
        out = conv(images)[:, 0 : 2 * pairs : 2]
    features = out.transpose(0, 1).reshape(pairs, -1).double()
    eigenvalues = torch.linalg.eigvalsh(patch_covariance([images], conv)[1]).flip(0)[:pairs]
    floor = EIGENVALUE_FLOOR * eigenvalues[0]
    expected = torch.where(eigenvalues >= floor, 1.0, eigenvalues / floor)
    torch.testing.assert_close(torch.cov(features, correction=0), torch.diag(expected),
                               atol=2e-4, rtol=2e-4)
    if conv.bias is not None:  # the bias centres each whitened channel
        torch.testing.assert_close(features.mean(1), torch.zeros(pairs, dtype=torch.float64),
                                   atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels,kernel,dilation,stride", [(1, 3, 1, 1), (3, 2, 2, 2)])
def test_whitened_channels_are_uncorrelated_with_unit_variance(channels, kernel, dilation,
                                                               stride):
    dims = channels * kernel * kernel
    model = nn.Sequential(nn.Conv2d(channels, 2 * dims + 6, kernel, dilation=dilation,
                                    stride=stride, bias=True), nn.ReLU())
    images = correlated_images(n=256, channels=channels)
    whiten_stem(model, [images])
    conv = model[0]
    # +v and -v alternate.
    torch.testing.assert_close(conv.weight[0 : 2 * dims : 2], -conv.weight[1 : 2 * dims : 2])
    assert_whitens(conv, images)


def test_filters_beyond_the_patch_dimensions_keep_their_initialisation():
    model = nn.Sequential(nn.Conv2d(1, 24, 3, bias=False))  # 9 patch dimensions, 24 filters
    before = model[0].weight.detach().clone()
    assert whiten_stem(model, [correlated_images()], freeze=False) == "0"
    assert not torch.equal(model[0].weight[:18], before[:18])
    torch.testing.assert_close(model[0].weight[18:], before[18:], rtol=0, atol=0)
    assert model[0].weight.requires_grad  # freeze=False


@pytest.mark.parametrize("optimizer", ["sgd", "muon"])
def test_only_the_whitened_filters_are_held_and_the_others_train(optimizer):
    from cnnlab.train.optim import Muon, muon_groups, parameter_groups

    conv = nn.Conv2d(1, 24, 3, bias=True)  # 18 whitened filters, 6 initialised ones
    whiten_stem(nn.Sequential(conv), [correlated_images()])
    assert conv.weight.requires_grad and conv.weight.no_weight_decay
    before = conv.weight.detach().clone()
    # Muon orthogonalises the whole filter bank's update: the held rows, zero in the
    # gradient, must stay zero through it.
    opt = (torch.optim.SGD(conv.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd"
           else Muon(muon_groups(parameter_groups(conv, 5e-4), 0.05, 0.1), lr=0.1))
    for _ in range(3):
        conv(correlated_images(n=8, seed=1)).square().mean().backward()
        opt.step()
        opt.zero_grad()
    torch.testing.assert_close(conv.weight[:18], before[:18], rtol=0, atol=0)
    assert (conv.weight[18:] - before[18:]).abs().amin(dim=(1, 2, 3)).gt(0).all()
    # The optimizer's groups leave the held parameters undecayed.
    groups = parameter_groups(nn.Sequential(conv), weight_decay=5e-4)
    decayed = [p for g in groups if g["weight_decay"] > 0 for p in g["params"]]
    assert not any(p is conv.weight for p in decayed)


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
    with pytest.raises(ValueError, match="padding='same'"):
        whiten_stem(nn.Sequential(nn.Conv2d(1, 4, 3, padding="same")), [correlated_images()])
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        whiten_stem(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect")),
                    [correlated_images()])
    with pytest.raises(ValueError, match="patches do not vary"):
        whiten_stem(nn.Sequential(nn.Conv2d(1, 4, 3)), [torch.full((4, 1, 8, 8), 0.5)])


def test_trainer_whitens_the_stem_and_training_leaves_it_alone():
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig
    from cnnlab.train.config import ConfigError
    from cnnlab.train.trainer import Trainer

    data = make_synthetic(num_train=128, num_test=64)
    # Whitening reads the images as the model sees them: normalised, never augmented.
    cfg = TrainConfig(model="speednet", epochs=1, batch_size=32, device="cpu", quiet=True,
                      lr=0.05, momentum=0.9, weight_decay=5e-4, ema_decay=0.9,
                      whiten_stem=True, channels_last=True, normalize=True, flip=True,
                      crop_padding=2, erase_prob=0.5)
    trainer = Trainer(cfg, data)
    stem = trainer.model.features[0]  # 5x5, 24 filters: all 24 whitened
    whitened = stem.weight.detach().clone()
    raw = data.train.images.float() / 255
    mean, std = raw.mean(), raw.std()
    assert_whitens(stem, (raw - mean) / std)
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
