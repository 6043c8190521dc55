"""What `bench throughput` times and how its rows say it (mutation testing, session 41):
the input side asked for, the layout and cast of each phase, inference in eval mode
without autograd, a compiled step, the peak of the step's own math, a tuple output, and
the out-of-memory retries' batches and notes. No GPU: the device, clock and compiler
are faked where a test needs them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.bench import throughput as tp
from cnnlab.inspect import count_macs
from cnnlab.models import get_model


def _quick(monkeypatch, seconds: float = 0.01) -> None:
    """Each phase's clock gives ``seconds`` per step, after calling the step once (so a
    test can watch what a timed step does)."""
    def steps(fn, n, device):
        fn()
        return [seconds] * n

    monkeypatch.setattr(tp, "step_seconds", steps)


def _watched(monkeypatch) -> list[dict]:
    """Each forward of the built model: its training mode, autograd, and the input's layout."""
    seen: list[dict] = []
    real = tp.get_model

    def build(*args, **kw):
        model = real(*args, **kw)
        model.register_forward_pre_hook(lambda m, inputs: seen.append(dict(
            training=m.training, grad=torch.is_grad_enabled(),
            nhwc=inputs[0].is_contiguous(memory_format=torch.channels_last),
            dtype=torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu")
            else None)))
        return model

    monkeypatch.setattr(tp, "get_model", build)
    return seen


def test_the_input_side_asked_for_is_the_one_timed_and_counted(monkeypatch):
    _quick(monkeypatch, 0.01)  # batch 2 in 10 ms: 200 img/s
    row = tp.measure("lenet_d2l", 2, 40, device="cpu", steps=1, warmup=0, infer=False)
    assert row.input_size == "1x40x40"
    macs = count_macs(get_model("lenet_d2l", image_size=40), (1, 40, 40))
    assert macs != count_macs(get_model("lenet_d2l"), (1, 28, 28))
    assert row.train_tflops == pytest.approx(6 * macs * 200 / 1e12, rel=1e-12)


def test_inference_is_timed_in_eval_mode_without_autograd(monkeypatch):
    _quick(monkeypatch)
    seen = _watched(monkeypatch)
    tp.measure("lenet_bn", 2, device="cpu", steps=1, warmup=0)
    train, infer = seen[0], seen[1]
    assert train["training"] and train["grad"]
    assert not infer["training"] and not infer["grad"]


def _three_channels(monkeypatch) -> None:
    """lenet_bn on RGB input: a one-channel input is NCHW and NHWC alike."""
    import dataclasses

    real_info, real_get = tp.model_info, tp.get_model
    monkeypatch.setattr(tp, "model_info", lambda name: dataclasses.replace(
        real_info(name), input_size=(3, 28, 28)))
    monkeypatch.setattr(tp, "get_model", lambda *a, **k: real_get(*a, in_channels=3, **k))


def test_channels_last_and_the_cast_reach_every_timed_step(monkeypatch):
    _quick(monkeypatch)
    _three_channels(monkeypatch)
    seen = _watched(monkeypatch)
    row = tp.measure("lenet_bn", 2, device="cpu", steps=1, warmup=1, amp="bf16",
                     channels_last=True)
    timed = seen[:4]  # warm-up and timed step, training then inference (then the MACs)
    assert all(s["nhwc"] and s["dtype"] == torch.bfloat16 for s in timed), seen
    assert row.channels_last and row.amp == "bf16"
    plain = _watched(monkeypatch)
    tp.measure("lenet_bn", 2, device="cpu", steps=1, warmup=0, infer=False)
    assert not plain[0]["nhwc"] and plain[0]["dtype"] is None


def test_a_channels_last_model_holds_its_weights_channels_last(monkeypatch):
    _quick(monkeypatch)
    _three_channels(monkeypatch)
    built = []
    real = tp.get_model
    monkeypatch.setattr(tp, "get_model", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    tp.measure("lenet_bn", 2, device="cpu", steps=1, warmup=0, infer=False,
               channels_last=True)
    convs = [m for m in built[0].modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last)
                         for c in convs)


def test_compile_times_the_compiled_step(monkeypatch):
    _quick(monkeypatch)
    compiled, calls = [], []

    def fake_compile(model, **kw):
        compiled.append(model)

        def step(x):
            calls.append(1)
            return model(x)

        return step

    monkeypatch.setattr(torch, "compile", fake_compile)
    row = tp.measure("lenet_d2l", 2, device="cpu", steps=1, warmup=1, compile=True)
    assert row.compile and len(compiled) == 1 and len(calls) == 4


def test_the_peak_is_looked_up_for_the_steps_own_cast(monkeypatch):
    _quick(monkeypatch)
    asked = []
    monkeypatch.setattr(tp, "device_peak",
                        lambda dev, amp: asked.append((dev.type, amp)) or (989.4, "H100, bf16"))
    row = tp.measure("lenet_d2l", 2, device="cpu", steps=1, warmup=0, infer=False,
                     amp="bf16")
    assert asked == [("cpu", "bf16")]
    assert (row.peak_tflops, row.peak_of) == (989.4, "H100, bf16")


def test_a_model_that_returns_a_tuple_trains_on_its_first_output(monkeypatch):
    # torchvision's GoogLeNet and Inception return (logits, aux...) in training mode.
    class WithAux(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            return (out, out.detach()) if self.training else out

    _quick(monkeypatch)
    real = tp.get_model
    monkeypatch.setattr(tp, "get_model", lambda *a, **k: WithAux(real(*a, **k)))
    [row] = tp.benchmark(["lenet_d2l"], batch_size=2, device="cpu", steps=1, warmup=1)
    assert row["note"] == "" and row["train_samples_per_s"] == pytest.approx(200.0)


def test_the_step_frees_its_gradients_as_training_does(monkeypatch):
    # Accumulated gradients would add an add per weight to every timed step.
    _quick(monkeypatch)
    built = []
    real = tp.get_model
    monkeypatch.setattr(tp, "get_model", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    tp.measure("lenet_d2l", 2, device="cpu", steps=1, warmup=0, infer=False)
    assert all(p.grad is None for p in built[0].parameters())


def _oom():
    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def _fake_row(name, batch_size, note=""):
    return tp.ThroughputRow(name, "1x28x28", batch_size, 1.0, 1.0, 1.0, 1.0, None, 0.0,
                            "off", False, False, "cpu", note=note)


def test_out_of_memory_even_at_batch_one_is_a_failed_row_at_batch_one(monkeypatch):
    tried = []

    def fake(name, batch_size, image_size=None, **kw):
        tried.append(batch_size)
        raise _oom()

    monkeypatch.setattr(tp, "measure", fake)
    [row] = tp.benchmark(["lenet_d2l"], batch_size=4, device="cpu")
    assert tried == [4, 2, 1]
    assert row["batch_size"] == 1 and row["note"].startswith("failed: OutOfMemoryError")


def test_the_halving_note_is_kept_beside_the_rows_own(monkeypatch):
    def fake(name, batch_size, image_size=None, **kw):
        if batch_size > 2:
            raise _oom()
        return _fake_row(name, batch_size, note="stem not padded: no stem")

    monkeypatch.setattr(tp, "measure", fake)
    [row] = tp.benchmark(["lenet_d2l"], batch_size=4, device="cpu")
    assert row["note"] == "out of memory at batch 4; halved; stem not padded: no stem"


def test_a_model_failing_after_a_halving_names_the_batch_it_failed_at(monkeypatch):
    def fake(name, batch_size, image_size=None, **kw):
        raise _oom() if batch_size > 2 else RuntimeError("no kernel")

    monkeypatch.setattr(tp, "measure", fake)
    [row] = tp.benchmark(["lenet_d2l"], batch_size=8, image_size=64, device="cpu")
    assert row["batch_size"] == 2 and row["note"] == "failed: RuntimeError: no kernel"
    assert row["input_size"] == "1x64x64"


def test_each_model_starts_at_the_batch_asked_with_no_note(monkeypatch):
    tried = []

    def fake(name, batch_size, image_size=None, **kw):
        tried.append((name, batch_size))
        if name == "lenet_d2l" and batch_size > 2:
            raise _oom()
        return _fake_row(name, batch_size)

    monkeypatch.setattr(tp, "measure", fake)
    first, second = tp.benchmark(["lenet_d2l", "lenet_bn"], batch_size=8, device="cpu")
    assert tried[-1] == ("lenet_bn", 8)
    assert second["batch_size"] == 8 and second["note"] == ""
    assert first["note"] == "out of memory at batch 4; halved"


def test_a_failed_row_says_the_setting_it_failed_in():
    from cnnlab.cli.throughput import setting_text

    row = tp._failed_row("lenet_d2l", 8, None, RuntimeError("x"), dict(
        amp="fp16", channels_last=True, compile=True, pad_stem=4, device="cuda",
        optimizer="muon"))
    assert setting_text(row) == "fp16, NHWC, compiled, stem 4 ch"
    assert (row["device"], row["optimizer"]) == ("cuda", "muon")
