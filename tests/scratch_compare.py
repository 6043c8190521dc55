"""Whole networks on cnnlab's from-scratch ops against the same networks on PyTorch's.

Used by ``tests/test_scratch_models.py`` on a few models, and run as a script for the
full sweep over every registered model (minutes, on a CPU):

    PYTHONPATH=. .venv/bin/python tests/scratch_compare.py [NAME_PATTERN ...] [--fft]

How the comparison is judged. In float64 the two must agree to rounding (a relative
1e-9: the ops are checked one by one to 1e-10, and a network chains a few dozen). In
float32 and bfloat16 both differ from the exact result by rounding that a deep network
amplifies (a BatchNorm over 4 values at 1x1, a max over near-ties), so a fixed
tolerance would be either loose for LeNet or failing for DenseNet. Both float32 (or
autocast) runs are compared with the float64 run of PyTorch's layers instead: each
quantity's error, relative to that quantity's largest value, of ours (``ours``) and of
PyTorch's own float32 run (``torch``). Ours must stay within ``RATIO`` times PyTorch's
own error, with a floor of a few units in the last place (``FLOOR``) where PyTorch's is
next to nothing.

The quantities: logits in train and eval mode, every parameter's gradient (the worst
parameter), BatchNorm running statistics after the training step, and the change of the
weights after 3 steps of SGD with momentum and after 1 of AdamW (the change, not the
weights: a step moves them by 1e-3 of their size, which comparing the weights would hide;
AdamW's where the sign of the gradient is settled, see :func:`worst`).

A plain module, not a test file (pytest does not collect it); asserts carry messages.
"""

from __future__ import annotations

import copy
import fnmatch
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models import get_model, list_models, model_info

# Ours may be this many times PyTorch's own float32 (or bfloat16) error, ...
RATIO = 4.0
# ... or this relative error where PyTorch's is smaller (float32: ~40 ulps; bfloat16: 2).
FLOOR = {torch.float32: 5e-6, torch.bfloat16: 2e-2}
# float64: the same computation rounded differently, relative to each quantity's size.
EXACT = 1e-9
# PyTorch's own float32 run this far off (relative) means the network amplifies rounding
# 10^4-fold or more (a BatchNorm over 4 values of a channel a ReLU switched off, at 1x1,
# divides rounding by sqrt(eps)): two roundings then differ by orders of magnitude by
# chance, float64 ones included, and the quantity is reported but not judged.
ILL_CONDITIONED = 1e-3
QUANTITIES = ("logits_train", "grads", "running_stats", "logits_eval", "sgd3", "adamw1")


def side_for(name: str) -> int:
    """The input side a student would train at: 28 (Fashion-MNIST as it is) where the
    model takes it, else its smallest."""
    return max(28, model_info(name).min_input_size)


def build(name: str, side: int, seed: int = 0) -> nn.Module:
    """``name`` on PyTorch's layers, with 10 classes, sized for ``side`` if its head is."""
    kw = {"image_size": side} if model_info(name).sized_head else {}
    torch.manual_seed(seed)
    return get_model(name, num_classes=10, **kw)


def _logits(out):
    return out[0] if isinstance(out, tuple) else out  # GoogLeNet's aux outputs in training


def _absmax(t: torch.Tensor) -> float:
    return t.double().abs().max().item() if t.numel() else 0.0


def _rel(value: torch.Tensor, ref: torch.Tensor, scale: float | None = None) -> float:
    """Largest difference relative to ``scale``, by default the reference's largest
    magnitude (0 for 0 == 0)."""
    scale = _absmax(ref) if scale is None else scale
    err = _absmax(value.double() - ref.double())
    return err / scale if scale else err


def _sign_settled(value: torch.Tensor, ref: torch.Tensor, grad: torch.Tensor) -> float:
    """:func:`_rel` over the elements whose reference gradient is at least 1e-3 of the
    tensor's largest: 50 times the float32 gradients' error, so rounding cannot turn
    their sign, which AdamW's first step follows."""
    keep = grad.abs() >= 1e-3 * _absmax(grad)
    return _rel(value[keep], ref[keep], _absmax(ref))


def rounding_only(grads: dict[str, torch.Tensor]) -> set[str]:
    """The parameters whose float64 gradient is rounding alone: zero in exact arithmetic,
    as a bias before a training-mode BatchNorm is (the mean it adds is subtracted again).
    Below 1e-9 of the largest gradient: float64 rounding is 1e-16 of it, a real gradient
    (the stem's, say) 1e-4 at the least in these networks."""
    top = max((_absmax(g) for g in grads.values()), default=0.0)
    return {k for k, g in grads.items() if _absmax(g) < 1e-9 * top}


def measure(model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: torch.dtype | None,
            steps=True) -> dict[str, dict[str, torch.Tensor]]:
    """Each quantity of the module docstring, as {quantity: {name: tensor}}, computed on a
    copy of ``model`` (which is left as it is). Dropout draws from a reseeded generator,
    the same masks in every run."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    net = copy.deepcopy(model).train()
    ctx = (torch.autocast("cpu", dtype=amp) if amp else torch.autocast("cpu", enabled=False))
    torch.manual_seed(1)
    with ctx:
        logits = _logits(net(x))
        loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    out["logits_train"] = {"logits": logits.detach()}
    out["grads"] = {k: p.grad for k, p in net.named_parameters() if p.grad is not None}
    out["running_stats"] = {k: b for k, b in net.named_buffers() if b.is_floating_point()}
    net.eval()
    with torch.no_grad(), ctx:
        out["logits_eval"] = {"logits": _logits(net(x))}
    if not steps:
        return out
    for key, make, count in (("sgd3", lambda p: torch.optim.SGD(p, 0.05, momentum=0.9), 3),
                             ("adamw1", lambda p: torch.optim.AdamW(p, 1e-3), 1)):
        net = copy.deepcopy(model).train()
        before = {k: p.detach().clone() for k, p in net.named_parameters()}
        opt = make(net.parameters())
        for step in range(count):
            torch.manual_seed(2 + step)
            opt.zero_grad()
            with ctx:
                loss = F.cross_entropy(_logits(net(x)).float(), y)
            loss.backward()
            opt.step()
        out[key] = {k: p.detach() - before[k] for k, p in net.named_parameters()}
    return out


def worst(result: dict, ref: dict) -> dict[str, tuple[float, str]]:
    """Per quantity: the largest relative error over its tensors, and which tensor.

    The gradients of :func:`rounding_only` parameters, and their SGD steps, are measured
    against the largest of the quantity (their own size is rounding); their AdamW steps
    not at all: AdamW divides a gradient by its own size, so rounding noise of 1e-8 (float32)
    moves such a weight by up to the learning rate, in a direction chance picks, in
    PyTorch's own float32 run as in ours. For the same reason AdamW's steps are compared
    only where the gradient is clearly away from zero: its first step is
    ``lr * g / (|g| + eps)``, about ``lr * sign(g)``, so where a gradient element is
    within rounding of zero (a weight fed by a ReLU barely on) rounding picks the
    direction of a full step, in PyTorch's float32 run as in ours."""
    noise = rounding_only(ref["grads"])
    report = {}
    for quantity, tensors in ref.items():
        missing = set(tensors) ^ set(result[quantity])
        assert not missing, f"{quantity}: tensors in one run only: {sorted(missing)}"
        top = max((_absmax(t) for t in tensors.values()), default=0.0)
        if quantity == "adamw1":
            errors = [(_sign_settled(result[quantity][k], t, ref["grads"][k]), k)
                      for k, t in tensors.items() if k not in noise]
        else:
            errors = [(_rel(result[quantity][k], t, top if k in noise else None), k)
                      for k, t in tensors.items()]
        report[quantity] = max(errors, default=(0.0, ""))
    return report


def compare(name: str, fft: bool = False, batch: int = 4, amp: torch.dtype | None = None,
            exact: bool = True, steps: bool = True) -> dict:
    """Scratch vs PyTorch for one model: {"float64": {q: err}, "ours": {q: (err, tensor)},
    "torch": {q: (err, tensor)}, "side": side}. ``exact=False`` skips the float64 run of
    the scratch model (the float64 reference of PyTorch's layers is always made)."""
    side = side_for(name)
    plain = build(name, side)
    channels = plain.cnnlab_input_size[0]
    # The same weights both ways: get_model(scratch_ops=...) with the same seed, whose
    # state_dict must equal the plain model's (converting draws no random numbers).
    scratch = get_model_scratch(name, side, fft)
    sd_plain, sd_scratch = plain.state_dict(), scratch.state_dict()
    assert list(sd_plain) == list(sd_scratch), f"{name}: state_dict keys differ"
    assert all(torch.equal(sd_plain[k], sd_scratch[k]) for k in sd_plain), \
        f"{name}: scratch_ops=True drew other weights for the same seed"
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, side, side, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    ref = measure(plain.double(), x.double(), y, None, steps)
    report: dict = {"side": side}
    if exact:
        report["float64"] = {q: e for q, (e, _) in worst(
            measure(copy.deepcopy(scratch).double(), x.double(), y, None, steps), ref).items()}
    plain.float()
    report["torch"] = worst(measure(plain, x, y, amp, steps), ref)
    report["ours"] = worst(measure(scratch, x, y, amp, steps), ref)
    return report


def get_model_scratch(name: str, side: int, fft: bool, seed: int = 0) -> nn.Module:
    kw = {"image_size": side} if model_info(name).sized_head else {}
    torch.manual_seed(seed)
    return get_model(name, num_classes=10, scratch_ops="fft" if fft else True, **kw)


def failures(report: dict, amp: torch.dtype | None = None) -> list[str]:
    """What breaks the rules of the module docstring, one line each."""
    floor = FLOOR[amp or torch.float32]
    settled = {q for q, (theirs, _) in report["torch"].items()
               if amp is not None or theirs <= ILL_CONDITIONED}
    bad = [f"float64 {q}: {e:.2e} > {EXACT:g}"
           for q, e in report.get("float64", {}).items() if e > EXACT and q in settled]
    for q, (ours, where) in report["ours"].items():
        theirs = report["torch"][q][0]
        if q in settled and ours > max(RATIO * theirs, floor):
            bad.append(f"{q}: ours {ours:.2e} ({where}) vs torch's {theirs:.2e}")
    return bad


def main(argv: list[str]) -> int:
    fft = "--fft" in argv
    amp = torch.bfloat16 if "--bf16" in argv else None
    patterns = [a for a in argv if not a.startswith("--")] or ["*"]
    names = [n for n in list_models() if any(fnmatch.fnmatch(n, p) for p in patterns)]
    skip = {"regnet_y_128gf": "644M parameters: 2.6 GB a copy, five copies"}
    heavy = 40e6  # parameters: no float64 run of the scratch copy, no optimizer steps
    failed = 0
    print(f"# fft={fft} amp={amp} batch=4; relative errors vs PyTorch's float64 run",
          flush=True)
    print("name side secs | float64 worst | " + " ".join(f"{q}(ours/torch)" for q in QUANTITIES))
    for name in names:
        if name in skip:
            print(f"{name} SKIPPED: {skip[name]}", flush=True)
            continue
        start = time.perf_counter()
        params = sum(p.numel() for p in build(name, side_for(name)).parameters())
        small = params < heavy
        try:
            report = compare(name, fft=fft, amp=amp, exact=small and amp is None, steps=small)
        except Exception as exc:  # noqa: BLE001 - the sweep reports and goes on
            failed += 1
            print(f"{name} ERROR {type(exc).__name__}: {exc}", flush=True)
            continue
        exact = max(report.get("float64", {"-": 0.0}).values())
        cells = " ".join(f"{report['ours'][q][0]:.1e}/{report['torch'][q][0]:.1e}"
                         if q in report["ours"] else "-" for q in QUANTITIES)
        bad = failures(report, amp)
        loose = [q for q in QUANTITIES if q in report["torch"]
                 and report["torch"][q][0] > ILL_CONDITIONED]
        cells += f" (ill-conditioned: {', '.join(loose)})" if loose and amp is None else ""
        failed += bool(bad)
        print(f"{name} {report['side']} {time.perf_counter() - start:.0f}s | {exact:.1e} | "
              f"{cells}" + (" FAIL: " + "; ".join(bad) if bad else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main(sys.argv[1:]))
