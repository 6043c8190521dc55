"""cnnlab.inspect.summary and the `cnnlab summary` / `cnnlab models` commands.

MACs are checked against hand counts and against an independent count from forward hooks
on Conv2d / Linear; memory against what autograd must keep for a net small enough to
reason about; the flow line against VGG-11's well-known shape sequence.
"""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from torch import nn
from typer.testing import CliRunner

from cnnlab.bench import complexity
from cnnlab.cli import app
from cnnlab.formatting import format_count
from cnnlab.inspect import SummaryError, count_macs, summary
from cnnlab.models import get_model, list_models, model_info

F32 = 4  # bytes


def tiny_net() -> nn.Sequential:
    # conv 1->8 3x3 pad 1 on 1x8x8: 8 * 9 * 64 = 4608 MACs; Linear 512->10: 5120; 10->5: 50.
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(512, 10), nn.ReLU(), nn.Linear(10, 5),
    )


def hook_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Independent MAC count: forward hooks on Conv2d and Linear only."""
    total = 0

    def conv(m, inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        nonlocal total
        total += out.numel() * m.in_features

    handles = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
               for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(x)
    for h in handles:
        h.remove()
    return total


# --------------------------------------------------------------------------- counts


def test_hand_computed_macs_params_and_shapes():
    s = summary(tiny_net(), (1, 8, 8))
    assert [r.macs for r in s.rows] == [4608, 0, 0, 5120, 0, 50]
    assert [r.params for r in s.rows] == [8 * 9 + 8, 0, 0, 512 * 10 + 10, 0, 10 * 5 + 5]
    assert [r.output_shape for r in s.rows] == [
        (1, 8, 8, 8), (1, 8, 8, 8), (1, 512), (1, 10), (1, 10), (1, 5)]
    assert s.totals.macs == 4608 + 5120 + 50
    assert s.totals.params == sum(p.numel() for p in tiny_net().parameters()) == 5265
    assert s.totals.param_bytes == 5265 * F32


def test_macs_and_activations_scale_with_batch():
    one, three = summary(tiny_net(), (1, 8, 8)), summary(tiny_net(), (1, 8, 8), batch_size=3)
    assert three.totals.macs == 3 * one.totals.macs
    assert three.totals.forward_activation_bytes == 3 * one.totals.forward_activation_bytes
    assert three.rows[0].output_shape == (3, 8, 8, 8)


def test_activation_bytes_of_a_small_net():
    s = summary(tiny_net(), (1, 8, 8), batch_size=2)
    per_row = [2 * 512 * F32] * 3 + [2 * 10 * F32] * 2 + [2 * 5 * F32]
    assert [r.activation_bytes for r in s.rows] == per_row
    assert s.totals.forward_activation_bytes == sum(per_row)
    assert s.totals.input_bytes == 2 * 64 * F32
    # Autograd keeps each ReLU's output (its own backward and the next Linear's input,
    # which for the first Linear is a view through Flatten: one storage, counted once).
    # Conv and Linear also save their input and weight: the model input and parameters,
    # which are excluded as counted elsewhere. So: 2*512 + 2*10 floats.
    assert s.totals.training_pass_mode == "train"
    assert s.totals.training_activation_bytes == (2 * 512 + 2 * 10) * F32


def test_rows_partition_the_model_at_every_depth():
    net = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()),
        nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(4 * 6 * 6, 6), nn.Linear(6, 3))),
    )
    totals = summary(net, (1, 8, 8)).totals
    expected_rows = {None: 5, 3: 5, 2: 4, 1: 2, 0: 1}
    for depth, n_rows in expected_rows.items():
        s = summary(net, (1, 8, 8), depth=depth)
        assert len(s.rows) == n_rows, depth
        assert sum(r.macs for r in s.rows) == totals.macs
        assert sum(r.params for r in s.rows) == totals.params
        assert sum(r.activation_bytes for r in s.rows) == totals.forward_activation_bytes
    top = summary(net, (1, 8, 8), depth=1)
    assert [r.name for r in top.rows] == ["0", "1"]
    assert top.rows[1].macs == 144 * 6 + 6 * 3 and top.rows[1].output_shape == (1, 3)


class OwnWeight(nn.Module):
    """A container that also computes with a parameter of its own (a functional matmul)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Parameter(torch.randn(6, 4))
        self.fc = nn.Linear(4, 2)
        self.unused_head = nn.Linear(4, 9)  # registered but never called

    def forward(self, x):
        return self.fc(x.flatten(1) @ self.proj)


def test_own_rows_and_uncalled_modules_keep_the_sums():
    model = OwnWeight()
    s = summary(model, (6,))
    own = [r for r in s.rows if r.own]
    assert len(own) == 1 and own[0].params == 24 and own[0].macs == 24
    unused = next(r for r in s.rows if r.name == "unused_head")
    assert unused.calls == 0 and unused.output_shape is None and unused.params == 45
    assert sum(r.params for r in s.rows) == s.totals.params == 24 + 10 + 45
    assert sum(r.macs for r in s.rows) == s.totals.macs == 24 + 8
    assert "unused_head" in str(s)


def test_tied_and_frozen_parameters():
    a, b = nn.Linear(8, 8), nn.Linear(8, 8)
    b.weight = a.weight  # tied: must count once
    a.bias.requires_grad_(False)
    s = summary(nn.Sequential(a, nn.ReLU(), b), (8,))
    assert s.totals.params == sum(p.numel() for p in nn.Sequential(a, b).parameters()) == 80
    assert s.totals.trainable_params == 64 + 8
    assert sum(r.params for r in s.rows) == s.totals.params
    assert "Trainable" in str(s)  # the column appears once something is frozen


def test_resnet18_macs_match_an_independent_count():
    # torchvision lists resnet18 at 1.81 "GFLOPS", meaning multiply-adds. The meta device
    # gives the exact count without the compute.
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    s = summary(model, (3, 224, 224))
    x = torch.empty(1, 3, 224, 224, device="meta")
    assert s.totals.macs == hook_macs(model, x) == 1_814_073_344
    assert sum(r.macs for r in s.rows) == s.totals.macs
    assert s.totals.params == sum(p.numel() for p in model.parameters()) == 11_689_512
    assert count_macs(model, (3, 224, 224), batch_size=2) == 2 * s.totals.macs
    assert s.totals.training_activation_bytes is None  # not measurable on meta
    assert s.flow_str() == ("3x224x224 → 64x112x112 → 64x56x56 → 128x28x28 → 256x14x14 → "
                            "512x7x7 → 512x1x1 → 1000")


VGG11_FLOW = ("1x224x224 → 64x112x112 → 128x56x56 → 256x28x28 → 512x14x14 → 512x7x7 → "
              "25088 → 4096 → 4096 → 10")


def test_vgg11_flow():
    with torch.device("meta"):
        if "vgg11" in list_models():
            model = get_model("vgg11", in_channels=1, num_classes=10)
        else:  # the vgg family is not written yet: the same network from torchvision
            model = torchvision.models.vgg11()
            model.features[0] = nn.Conv2d(1, 64, 3, padding=1)
            model.classifier[6] = nn.Linear(4096, 10)
    assert summary(model, (1, 224, 224), depth=1).flow_str() == VGG11_FLOW


def test_the_flow_line_says_it_shows_resolution_changes():
    # LeNet's first conv keeps 28x28: its 6x28x28 is not in the flow, which the line's
    # label ("Flow") did not say, so the line read as a shape sequence missing a step.
    with torch.device("meta"):
        model = get_model("lenet_d2l")
    lines = dict(summary(model, (1, 28, 28)).totals_lines())
    assert lines["Resolution flow"] == ("1x28x28 → 6x14x14 → 16x10x10 → 16x5x5 → 400 → 120 "
                                        "→ 84 → 10")


@pytest.mark.parametrize("name, flow", [
    ("densenet121", "3x32x32 → 64x16x16 → 64x8x8 → 256x8x8 → 128x4x4 → 512x4x4 → 256x2x2"
                    " → 1024x2x2 → 512x1x1 → 1024x1x1 → 1000"),
    ("densenet_d2l", "1x32x32 → 64x16x16 → 64x8x8 → 192x8x8 → 96x4x4 → 224x4x4 → 112x2x2"
                     " → 240x2x2 → 120x1x1 → 248x1x1 → 10"),
])
def test_a_dense_block_at_1x1_is_one_stage_of_the_flow(name, flow):
    # Each dense layer showed at 1x1 (512x1x1 → 32x1x1 → 512x1x1 → ..., about 35 of
    # them): torchvision's block is a ModuleDict with a forward, looked through as a
    # container, and a channel change at 1x1 counted as a new stage. Each block's growth
    # shows once, and each transition's halving.
    with torch.device("meta"):
        model = get_model(name)
    assert summary(model, 32).flow_str() == flow


@pytest.mark.parametrize("name, flow", [
    ("resnet50", "3x64x64 → 64x32x32 → 64x16x16 → 256x16x16 → 512x8x8 → 1024x4x4 → 2048x2x2"
                 " → 2048x1x1 → 1000"),
    ("googlenet_d2l", "1x96x96 → 64x48x48 → 64x24x24 → 192x12x12 → 256x12x12 → 480x12x12"
                      " → 480x6x6 → 512x6x6 → 528x6x6 → 832x6x6 → 832x3x3 → 1024x3x3"
                      " → 1024x1x1 → 10"),
])
def test_a_block_that_widens_at_one_resolution_shows_in_the_flow(name, flow):
    # ResNet-50's first stage takes 64 channels to 256 at one resolution: the flow read
    # 64x16x16 → 512x8x8, hiding it; each inception's width change shows too.
    with torch.device("meta"):
        model = get_model(name)
    assert summary(model, 64 if name == "resnet50" else 96).flow_str() == flow


# --------------------------------------------------------------------------- robustness


def test_train_mode_batchnorm_at_batch_one_has_no_side_effects():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5),
                          nn.Linear(4, 2)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    s = summary(model, (1, 6, 6))  # BatchNorm1d cannot train on one value per channel
    assert s.totals.training_pass_mode == "eval" and s.totals.training_activation_bytes > 0
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    lines = dict(s.totals_lines())  # ... and the fix is named, not only the fallback
    assert "eval mode; train mode's BatchNorm needs a batch of 2" in lines["Training activations"]
    s2 = summary(model, (1, 6, 6), batch_size=2)  # batch 2 trains: stats must be restored
    assert s2.totals.training_pass_mode == "train"
    assert dict(s2.totals_lines())["Training activations"].endswith("(saved for backward, "
                                                                    "train mode)")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.aux = nn.Linear(4, 3)

    def forward(self, x):
        h = self.body(x)
        return {"logits": h, "extra": (self.aux(h), h.sum(1))}


def test_models_with_several_outputs():
    s = summary(nn.Sequential(TwoOutputs()), (4,), depth=1)
    assert s.rows[0].output_shapes == [(1, 4), (1, 3), (1,)]
    assert s.totals.macs == 16 + 12
    assert s.totals.training_activation_bytes is not None
    assert s.flow[0] == (4,)
    json.dumps(s.to_dict())


def test_forward_failure_names_the_module():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(SummaryError, match=r"module '2' \(Linear\)"):
        summary(model, (3, 8, 8))
    with pytest.raises(ValueError, match="depth"):
        summary(model, (3, 8, 8), depth=-1)


def test_text_and_json_renderings():
    s = summary(tiny_net(), (1, 8, 8))
    text = str(s)
    assert "Conv2d" in text and "9,778" in text and s.flow_str() in text
    assert "\x1b[" not in text  # plain text for print()
    d = json.loads(json.dumps(s.to_dict()))
    assert d["totals"]["macs"] == 9778 and d["rows"][0]["output_shapes"] == [[1, 8, 8, 8]]
    assert d["totals"]["param_mb"] == pytest.approx(5265 * F32 / 1e6)
    assert d["flow"][0] == [1, 8, 8]


# --------------------------------------------------------------------------- CLI

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def small_registered_model() -> str | None:
    names = list_models()
    for preferred in ("lenet_d2l", "lenet_modern", "lenet_bn"):
        if preferred in names:
            return preferred
    small = [n for n in names if model_info(n).input_size[1] <= 32]
    return small[0] if small else None


def test_cli_summary_of_a_registered_model():
    name = small_registered_model()
    if name is None:
        pytest.skip("no small model registered yet")
    result = runner.invoke(app, ["summary", name, "--depth", "1"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Resolution flow" in result.output and "Training activations" in result.output
    result = runner.invoke(app, ["summary", name, "--json", "--num-classes", "7"], env=WIDE)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    info = model_info(name)
    assert data["input_size"] == list(info.input_size)
    assert data["flow"][-1] == [7]
    # 0 classes: the model without its final linear layer, as get_model builds it (the
    # command refused 0, which get_model takes).
    result = runner.invoke(app, ["summary", "resnet18_small", "--json", "--num-classes", "0"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["flow"][-1] == [512]


def test_cli_summary_input_option_changes_channels_and_size():
    name = small_registered_model()
    if name is None:
        pytest.skip("no small model registered yet")
    side = max(model_info(name).min_input_size, 32)
    result = runner.invoke(app, ["summary", name, "--input", f"3x{side}x{side}", "--json"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["flow"][0] == [3, side, side]
    result = runner.invoke(app, ["summary", name, "--input", "3x5"], env=WIDE)
    assert result.exit_code != 0 and "CxHxW" in result.output


def test_cli_unknown_model_suggests_names():
    names = list_models()
    typo = names[0][:-1] + "q" if names else "resnet"
    result = runner.invoke(app, ["summary", typo], env=WIDE)
    assert result.exit_code == 2
    assert "unknown model" in result.output and "Traceback" not in result.output
    if names:
        assert names[0] in result.output


def test_cli_models_lists_and_caches(tmp_path, monkeypatch):
    name = small_registered_model()
    if name is None:
        pytest.skip("no small model registered yet")
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    result = runner.invoke(app, ["models", name], env=WIDE)
    assert result.exit_code == 0, result.output
    info = model_info(name)
    kwargs = {"image_size": info.input_size[1]} if info.sized_head else {}
    params = sum(p.numel() for p in get_model(name, **kwargs).parameters())
    assert name in result.output and info.family in result.output
    assert format_count(params) in result.output
    assert (tmp_path / "complexity.json").exists()

    def no_recount(info):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(complexity, "default_complexity", no_recount)
    again = runner.invoke(app, ["models", name], env=WIDE)
    assert again.exit_code == 0 and again.output == result.output


def test_cli_models_filters():
    result = runner.invoke(app, ["models", "--variant", "nonsense"], env=WIDE)
    assert result.exit_code == 2 and "--variant" in result.output
    result = runner.invoke(app, ["models", "no_such_model_anywhere"], env=WIDE)
    assert result.exit_code == 2 and \
        "no registered model matches pattern 'no_such_model_anywhere'" in result.output
    result = runner.invoke(app, ["models", "resnt18"], env=WIDE)
    assert result.exit_code == 2 and "Did you mean: resnet18" in result.output
    result = runner.invoke(app, ["models", "--family", "resnt"], env=WIDE)
    assert result.exit_code == 2 and "Did you mean --family resnet?" in result.output


def test_cli_summary_vgg11_shows_the_chapter_flow():
    result = runner.invoke(app, ["summary", "vgg11", "--input", "1x224x224", "--depth", "1",
                                 "--json"])
    assert result.exit_code == 0, result.output
    import json

    flow = json.loads(result.output)["flow_str"]
    assert flow == ("1x224x224 → 64x112x112 → 128x56x56 → 256x28x28 → 512x14x14 → "
                    "512x7x7 → 25088 → 4096 → 4096 → 10")


def test_cli_summary_names_a_missing_model_or_extra_without_a_traceback():
    import importlib.util

    result = runner.invoke(app, ["summary", "lenet"], env=WIDE)
    assert result.exit_code != 0 and "lenet_modern" in result.output  # prefix matches first
    if importlib.util.find_spec("timm") is None:
        result = runner.invoke(app, ["summary", "timm:resnet18"], env=WIDE)
        assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
        assert result.exit_code != 0 and "pip install" in result.output
    result = runner.invoke(app, ["summary", "tv:squeezenet1_0"], env=WIDE)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "not a final linear layer" in result.output


def test_summary_help_says_what_it_counts_in_lines_the_terminal_wraps():
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, ["summary", "--help"], env={"COLUMNS": "200"},
                                terminal_width=200)
    assert result.exit_code == 0
    # Wrapped to the terminal (help stops at 120 columns), not at the docstring's own
    # line ends: its "(as" ends a source line.
    assert ("MACs count one multiply-add per weight use in convolutions and linear layers "
            "(as torchvision's GFLOPS column), so FLOPs are twice the MACs") in result.output


def test_cli_summary_refuses_an_input_too_small_as_an_invalid_request():
    # It built the model and failed in a pooling layer: "cannot summarise", exit 1.
    result = runner.invoke(app, ["summary", "alexnet_d2l", "--input", "1x8x8"])
    assert result.exit_code == 2, result.output
    assert "--input 1x8x8 is too small for alexnet_d2l (at least 65x65 pixels)" in " ".join(
        result.output.split())


def test_a_torchvision_model_shows_its_stages_in_the_flow_line():
    # tv:resnet18 showed "3x224x224 → 512 → 1000": its torchvision body was one unit.
    assert summary("tv:resnet18", 64).flow_str() == summary("resnet18", 64).flow_str() == (
        "3x64x64 → 64x32x32 → 64x16x16 → 128x8x8 → 256x4x4 → 512x2x2 → 512x1x1 → 1000")


def test_cli_summary_refuses_weights_the_free_memory_cannot_hold(monkeypatch):
    # Memory is promised lazily: VGG-11 with 10**6 classes (15.7 GiB of weights) was
    # filled until the system killed the process. Counted on the meta device first.
    monkeypatch.setattr("cnnlab.data.memory.available_memory", lambda device: 100 * 2**20)
    result = runner.invoke(app, ["summary", "vgg11", "--num-classes", "1000"], env=WIDE)
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert ("vgg11 with 1,000 classes holds 507 MiB of weights, and this machine has "
            "100 MiB free: fewer --num-classes") in said, said
    result = runner.invoke(app, ["summary", "lenet_modern"], env=WIDE)  # 0.2 MiB: shown
    assert result.exit_code == 0, result.output


def test_cli_summary_markdown_holds_every_column_and_the_totals():
    # For notes and slides: a terminal's table leaves columns out at its width.
    result = runner.invoke(app, ["summary", "lenet_modern", "--markdown"], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines.index("| Layer | Type | Output shape | Params | MACs | Activations |")
    assert lines[header + 1] == "|---|---|---|---:|---:|---:|"
    assert "| features.0 | Conv2d | [1, 6, 28, 28] | 156 | 118K | 18.4 KiB |" in lines
    assert "| **Total** |  |  | **62.2K** | **417K** | **82.5 KiB** |" in lines
    assert "| Parameters | 62,158 (62,158 trainable) |" in lines
    result = runner.invoke(app, ["summary", "lenet_modern", "--markdown", "--json"])
    assert result.exit_code == 2 and "give one of them" in result.output
