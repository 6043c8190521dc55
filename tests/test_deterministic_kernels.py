"""--deterministic: what it sets for torch, and on CUDA for cuBLAS, without a GPU."""

from __future__ import annotations

import os

import pytest
import torch

from cnnlab.train.device import (
    CUBLAS_DETERMINISTIC,
    torch_settings_kept,
    use_deterministic_kernels,
)

VARIABLE = "CUBLAS_WORKSPACE_CONFIG"


@pytest.fixture(autouse=True)
def settings_put_back():
    with torch_settings_kept():
        yield


def test_on_cuda_the_cublas_workspace_torch_asks_for_is_set(monkeypatch):
    # Unset, torch's deterministic mode warned on every run's first matrix product
    # (a Linear layer) that cuBLAS may differ run to run, and told the user to set it.
    monkeypatch.delenv(VARIABLE, raising=False)
    use_deterministic_kernels(torch.device("cuda"))
    assert os.environ[VARIABLE] == CUBLAS_DETERMINISTIC
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark is False


def test_a_workspace_the_user_chose_is_kept(monkeypatch):
    monkeypatch.setenv(VARIABLE, ":16:8")  # the other size torch accepts
    use_deterministic_kernels(torch.device("cuda"))
    assert os.environ[VARIABLE] == ":16:8"


def test_on_a_cpu_the_environment_is_left_alone(monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    use_deterministic_kernels(torch.device("cpu"))
    assert VARIABLE not in os.environ
    assert torch.are_deterministic_algorithms_enabled()
