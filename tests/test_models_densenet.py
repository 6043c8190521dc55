"""DenseNet: the book's form against a transcription of its code, the standard forms
against torchvision, and the memory-efficient (checkpointed) form against the plain one."""

import json

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from cnnlab.bench.memory import compare_outputs_and_grads, saved_activation_bytes
from cnnlab.models import get_model, model_info
from cnnlab.models.densenet import DenseNetConfig, torchvision_densenet_key


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------ the book's DenseNet


class _BookDenseBlock(nn.Module):
    """Dive into Deep Learning's DenseBlock, with its lazy layers made explicit."""

    def __init__(self, num_convs, c_in, growth):
        super().__init__()
        self.net = nn.Sequential(*[
            nn.Sequential(nn.BatchNorm2d(c_in + i * growth), nn.ReLU(),
                          nn.Conv2d(c_in + i * growth, growth, kernel_size=3, padding=1))
            for i in range(num_convs)])

    def forward(self, x):
        for blk in self.net:
            x = torch.cat((x, blk(x)), dim=1)
        return x


def _book_densenet(num_classes=10, c=64, growth=32, arch=(4, 4, 4, 4)):
    layers = [nn.Conv2d(1, c, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(c), nn.ReLU(),
              nn.MaxPool2d(kernel_size=3, stride=2, padding=1)]
    for i, num_convs in enumerate(arch):
        layers.append(_BookDenseBlock(num_convs, c, growth))
        c += num_convs * growth
        if i != len(arch) - 1:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, kernel_size=1),
                       nn.AvgPool2d(kernel_size=2, stride=2)]
            c //= 2
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
               nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)


def test_densenet_d2l_is_the_books_network():
    torch.manual_seed(0)
    ours, book = get_model("densenet_d2l"), _book_densenet()
    assert n_params(ours) == n_params(book) == 758_226
    # Both list their tensors in forward order, so the book's load position by position.
    book.load_state_dict(dict(zip(book.state_dict(), ours.state_dict().values(), strict=True)))
    x = torch.randn(2, 1, 96, 96)
    for mode in (True, False):
        ours.train(mode), book.train(mode)
        torch.testing.assert_close(ours(x), book(x), rtol=0, atol=1e-5)


def test_densenet_d2l_registry_entry():
    info = model_info("densenet_d2l")
    assert info.variant == "book" and info.input_size == (1, 96, 96)
    recipe = info.book_recipe
    assert (recipe.lr, recipe.resize, recipe.book_accuracy, recipe.init) == (
        0.01, 96, 0.893, "default")


def test_min_input_size_is_honest():
    model = get_model("densenet_d2l").eval()
    size = model_info("densenet_d2l").min_input_size
    assert model(torch.zeros(1, 1, size, size)).shape == (1, 10)
    with pytest.raises(RuntimeError):
        model(torch.zeros(1, 1, size - 1, size - 1))


# ------------------------------------------------------------ torchvision parity


@pytest.mark.parametrize("name", ["densenet121", "densenet169", "densenet201"])
def test_standard_densenet_matches_torchvision(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    ours = get_model(name).eval()
    assert model_info(name).torchvision_name == name
    assert n_params(ours) == n_params(reference)
    key_map = model_info(name).torchvision_key_map
    ours.load_state_dict({key_map(k): v for k, v in reference.state_dict().items()})
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (ours(x) - reference(x)).abs().max().item() < 1e-5


def test_legacy_torchvision_keys_map_to_ours():
    assert torchvision_densenet_key("features.denseblock2.denselayer7.norm.1.running_var") == (
        "features.denseblock2.denselayer7.norm1.running_var")
    assert torchvision_densenet_key("features.denseblock1.denselayer1.conv.2.weight") == (
        "features.denseblock1.denselayer1.conv2.weight")
    for unchanged in ("features.transition1.norm.weight", "classifier.bias",
                      "features.denseblock1.denselayer1.norm1.weight"):
        assert torchvision_densenet_key(unchanged) == unchanged
    # A whole legacy-style state_dict (as in the LuaTorch-ported checkpoints) loads.
    ours = get_model("densenet121", num_classes=5)
    legacy = {k.replace("norm1", "norm.1").replace("conv2", "conv.2"): v
              for k, v in ours.state_dict().items()}
    assert any(".norm.1." in k for k in legacy)
    ours.load_state_dict({torchvision_densenet_key(k): v for k, v in legacy.items()})


# ------------------------------------------------------------ memory-efficient form


def _pair(name="densenet121", **kw):
    torch.manual_seed(0)
    plain = get_model(name, num_classes=10, **kw).train()
    efficient = get_model(name, num_classes=10, memory_efficient=True, **kw).train()
    efficient.load_state_dict(plain.state_dict())
    return plain, efficient


def test_memory_efficient_saves_40_percent_of_activations():
    plain, efficient = _pair()
    x = torch.randn(2, 3, 32, 32)
    saved_plain, _ = saved_activation_bytes(plain, lambda: plain(x))
    saved_efficient, _ = saved_activation_bytes(efficient, lambda: efficient(x))
    assert saved_efficient <= 0.6 * saved_plain, (saved_efficient, saved_plain)


def _assert_same_outputs_gradients_and_running_stats(plain, efficient, x, y):
    diffs = compare_outputs_and_grads(plain, efficient, x, y)
    assert diffs["max_abs_logit_diff"] < 1e-6 and diffs["max_abs_grad_diff"] < 1e-6, diffs
    # The recomputation must not fold the batch into BN's running stats a second time.
    for (k, a), b in zip(plain.state_dict().items(), efficient.state_dict().values(),
                         strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7, msg=k)


def test_memory_efficient_same_outputs_gradients_and_running_stats():
    plain, efficient = _pair()
    _assert_same_outputs_gradients_and_running_stats(
        plain, efficient, torch.randn(2, 3, 32, 32), torch.tensor([1, 7]))


def test_memory_efficient_without_grad_and_in_eval():
    plain, efficient = _pair("densenet_d2l")
    x = torch.randn(2, 1, 32, 32)
    for model in (plain, efficient):
        model.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(x), efficient(x), rtol=0, atol=1e-6)
    # eval with grad (e.g. saliency maps) checkpoints too and still matches
    x.requires_grad_(True)
    efficient(x).sum().backward()
    grad_efficient, x.grad = x.grad.clone(), None
    plain(x).sum().backward()
    torch.testing.assert_close(grad_efficient, x.grad, rtol=0, atol=1e-6)


def test_checkpointing_is_really_used():
    _, efficient = _pair("densenet_d2l")
    x = torch.randn(2, 1, 32, 32)
    calls = []
    layer = efficient.features.denseblock1.denselayer1
    original = layer._first_half
    layer._first_half = lambda feats, recompute: calls.append(recompute) or original(
        feats, recompute)
    F.cross_entropy(efficient(x), torch.tensor([0, 1])).backward()
    assert calls == [False, True]  # run once forward, once recomputed in backward


def _rng_states_kept(model, x, monkeypatch):
    """Bytes of RNG state the graph of ``model(x)`` holds for its backward: every state
    torch.get_rng_state hands out (a checkpoint's, to replay random draws) still alive
    when the forward returns. saved_activation_bytes cannot see them."""
    import weakref

    handed_out = []
    get_state = torch.get_rng_state

    def recording():
        state = get_state()
        handed_out.append(weakref.ref(state))
        return state

    monkeypatch.setattr(torch, "get_rng_state", recording)
    out = model(x)
    kept = sum(s().nbytes for s in handed_out if s() is not None)
    monkeypatch.setattr(torch, "get_rng_state", get_state)
    return kept, out


def test_checkpoints_keep_no_rng_state(monkeypatch):
    # The checkpointed half (cat, norm, ReLU, conv) draws nothing random; storing the
    # RNG state took 5,056 bytes a layer on a CPU (16 layers here: 80,896 bytes).
    _, efficient = _pair("densenet_d2l", drop_rate=0.2)
    kept, out = _rng_states_kept(efficient, torch.randn(2, 1, 32, 32), monkeypatch)
    assert kept == 0
    out.sum().backward()  # and the recomputation runs without it


@pytest.mark.parametrize("drop_rate", [0.0, 0.2])
def test_memory_efficient_matches_the_plain_model_with_dropout(drop_rate):
    # Dropout comes after the checkpointed half: the same seed draws the same masks in
    # both models, and the recomputation needs no RNG state to give the same gradients.
    plain, efficient = _pair("densenet_d2l", drop_rate=drop_rate)
    x, y = torch.randn(2, 1, 32, 32), torch.tensor([1, 7])
    outs, grads = [], []
    for model in (plain, efficient):
        torch.manual_seed(1)
        out = model(x)
        F.cross_entropy(out, y).backward()
        outs.append(out.detach())
        grads.append([p.grad for p in model.parameters()])
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-6)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_a_random_activation_keeps_the_rng_state(monkeypatch):
    # nn.RReLU draws its slopes in training: the recomputation must replay them.
    plain, efficient = _pair("densenet_d2l", act_layer=nn.RReLU, block_config=(2, 2))
    x, y = torch.randn(2, 1, 32, 32), torch.tensor([1, 7])
    torch.manual_seed(1)
    kept, out = _rng_states_kept(efficient, x, monkeypatch)
    assert kept > 0
    F.cross_entropy(out, y).backward()
    torch.manual_seed(1)
    F.cross_entropy(plain(x), y).backward()
    for a, b in zip(plain.parameters(), efficient.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-6)


# ------------------------------------------------------------ interface


def test_interface_and_overrides():
    model = get_model("densenet_d2l", num_classes=7, in_channels=3)
    x = torch.randn(2, 3, 64, 64)
    features = model.forward_features(x)
    assert features.shape[1] == model.num_features == 248
    assert model.forward_head(features, pre_logits=True).shape == (2, 248)
    assert model(x).shape == (2, 7)
    model.reset_classifier(4)
    assert model.get_classifier().out_features == 4 and model(x).shape == (2, 4)
    small = get_model("densenet_d2l", growth_rate=8, block_config=(2, 2))
    assert small.num_features == (64 + 16) // 2 + 16
    with pytest.raises(TypeError, match="growth_rate"):
        get_model("densenet121", growthrate=8)
    with pytest.raises(ValueError, match="compression"):
        DenseNetConfig(compression=0.0)


def test_drop_rate_applies_in_training_only():
    model = get_model("densenet_d2l", drop_rate=0.2)
    x = torch.randn(2, 1, 32, 32)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_memory_compares_the_two_densenets_on_the_same_step(tmp_path):
    out = tmp_path / "memory.json"
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, ["bench", "memory", "--model", "densenet_d2l",
                                      "--batch-size", "2", "--image-size", "32", "--steps", "1",
                                      "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    plain, efficient = json.loads(out.read_text())["rows"]
    assert (plain["variant"], efficient["variant"]) == ("plain", "memory_efficient")
    # The same function (logits and gradients), with fewer activations kept for backward.
    assert efficient["max_abs_logit_diff"] < 1e-5 and efficient["max_abs_grad_diff"] < 1e-5
    assert plain["memory_vs_plain"] == 1.0 and efficient["memory_vs_plain"] < 0.8
    assert "fewer saved bytes" in result.output


def test_memory_efficient_with_scratch_batch_norm_keeps_running_stats():
    # The recomputation calls cnnlab.ops.batch_norm directly for the from-scratch BN.
    plain, efficient = _pair("densenet_d2l", scratch_ops=True)
    _assert_same_outputs_gradients_and_running_stats(
        plain, efficient, torch.randn(2, 1, 32, 32), torch.tensor([1, 7]))
