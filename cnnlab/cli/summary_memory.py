"""What `cnnlab summary` may ask of this machine's memory: the network's weights
(refused where the free memory cannot hold them), and the batch it runs through it
(counted without it where the free memory cannot hold that batch's layer outputs).
Memory is promised lazily, so asking for more than there is filled it until the system
killed the process, or ended in the allocator's own words."""

from __future__ import annotations

import math

from cnnlab.cli.messages import fail

# What a summary's peak may take, as a multiple of its input and layer outputs (below)
_PEAK_OVER_OUTPUTS = 1.5


def refuse_what_memory_cannot_hold(model: str, kwargs: dict, num_classes: int | None) -> None:
    """Stop before building a network whose weights the free memory cannot hold: VGG-11
    with 10**6 classes (4.2G weights, 15.7 GiB) was filled until the system killed the
    process. Counted on the meta device: nothing allocated."""
    import torch

    from cnnlab.data.memory import available_memory
    from cnnlab.formatting import format_bytes
    from cnnlab.models import get_model

    free = available_memory("cpu")
    if free is None:
        return
    try:
        with torch.device("meta"):
            weights = get_model(model, **kwargs).parameters()
            need = sum(w.numel() * w.element_size() for w in weights)
    except Exception:  # noqa: BLE001 - the real build says what fails, naming it
        return
    if need > free:
        classes = "" if num_classes is None else f" with {num_classes:,} classes"
        fix = "fewer --num-classes" if num_classes else "a smaller model (cnnlab models)"
        fail(f"{model}{classes} holds {format_bytes(need)} of weights, and this machine has "
             f"{format_bytes(free)} free: {fix}, or free memory (close other programs)")


def batch_too_big(model: str, kwargs: dict, size: tuple[int, int, int],
                  batch_size: int, depth: int):
    """The summary of ``model`` counted on the meta device, with why, where the free
    memory cannot hold its input and layer outputs at ``batch_size`` (VGG-11 at batch
    100,000 asked for 56 GiB of input alone, and ended in the allocator's words); None
    where it can, or where that cannot be told (the real summary then says what fails).
    Shapes, parameters, MACs and forward sizes are the same there; what backward keeps
    is not measured."""
    import torch

    from cnnlab.data.memory import available_memory
    from cnnlab.formatting import format_bytes
    from cnnlab.inspect import summary
    from cnnlab.models import get_model

    free = available_memory("cpu")
    if free is None:
        return None
    try:
        with torch.device("meta"):
            net = get_model(model, **kwargs)
        counted = summary(net, size, depth=depth, batch_size=batch_size, device="meta")
    except Exception:  # noqa: BLE001 - the real summary says what fails, naming it
        # Past what PyTorch can size (batch 10**15: a layer's storage overflows), the
        # real summary asked the allocator for the input, and ended in its words.
        input_bytes = batch_size * math.prod(size) * 4  # float32
        if input_bytes > free:
            fail(f"at batch {batch_size:,} the input alone takes {format_bytes(input_bytes)}, "
                 f"and this machine has {format_bytes(free)} free: give a smaller "
                 "--batch-size (MACs and activations grow with it)")
        return None
    need = counted.totals.input_bytes + counted.totals.forward_activation_bytes
    # A real summary's peak, over the memory before it, measured 0.65-1.2x the input and
    # layer outputs where they take 0.3-1.4 GiB (11 models; in-place and view outputs are
    # counted but hold no memory of their own), up to 1.5x only below 150 MiB (the
    # allocator's own). "Twice them must fit" sent resnet152 at batch 32 (7.9 GiB; the
    # process's peak 7.5 GiB) to the meta device on a machine with 15.8 GiB free. The
    # weights are not built yet, so they must fit too (VGG-16's 0.52 GiB at batch 8).
    if need * _PEAK_OVER_OUTPUTS + counted.totals.param_bytes <= free:
        return None
    return counted, (f"at batch {batch_size:,} the input and layer outputs take "
                     f"{format_bytes(need)} (a summary up to {_PEAK_OVER_OUTPUTS:g} times "
                     f"that, and {format_bytes(counted.totals.param_bytes)} of weights), "
                     "and this machine "
                     f"has {format_bytes(free)} free: "
                     "counted without running it (on the meta device); training "
                     "activations not measured")
