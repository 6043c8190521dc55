"""`cnnlab bench throughput --profile` on the CPU: no stray CUDA error from the profiler,
and whatever else reaches standard error during the profile still does."""

from __future__ import annotations

import os

import torch

from cnnlab.bench import throughput as tp


def test_a_cpu_profile_drops_the_profilers_gpu_search_and_keeps_other_errors(capfd):
    def step():
        torch.ones(4, 4) @ torch.ones(4, 4)
        os.write(2, b"ERROR: something real went wrong\n")  # as a C++ library would

    table = tp._profile(step, torch.device("cpu"), steps=1)
    err = capfd.readouterr().err
    assert "aten::mm" in table
    assert "gpuGetDeviceCount" not in err and "profiler_start" not in err, err
    assert "ERROR: something real went wrong" in err


def test_only_kineto_chatter_is_dropped_and_its_gpu_line_only_on_the_cpu():
    gpu_line = b"ERROR:2026-12-06 10:36:38 1:1 DeviceProperties.cpp:56] gpuGetDeviceCount " \
               b"failed with code 35\n"
    assert tp._kineto_chatter(gpu_line, cpu_only=True)
    assert not tp._kineto_chatter(gpu_line, cpu_only=False)  # on a GPU run it means something
    assert tp._kineto_chatter(b"USDT:2026-12-06 1:1 SyncActivityProfilerHandler.cpp:39] "
                              b"profiler_start\n", cpu_only=True)
    assert not tp._kineto_chatter(b"ERROR: out of memory\n", cpu_only=True)
