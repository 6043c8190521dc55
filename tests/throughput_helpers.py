"""A `bench throughput` result row as the sweep stores it, for the table tests."""

from __future__ import annotations


def throughput_row(**kw) -> dict:
    """lenet_bn at batch 64 on the CPU, fp32, eager; ``kw`` changes any field."""
    row = dict(model="lenet_bn", input_size="1x28x28", batch_size=64,
               train_samples_per_s=9501.146, train_step_ms=6.736, train_step_ms_min=6.1,
               train_step_ms_max=7.93, infer_samples_per_s=41002.16, infer_step_ms=1.561,
               infer_step_ms_min=1.5, infer_step_ms_max=1.7, timed_steps=5,
               peak_memory_mib=None, train_tflops=0.018244, amp="off", channels_last=False,
               compile=False, device="cpu", pad_stem=0, optimizer="sgd", model_overrides="",
               note="", profile="", baseline=False, peak_tflops=None, peak_of="")
    return {**row, **kw}
