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


def test_the_workspace_variable_is_put_back_when_the_run_ends(monkeypatch):
    # Left set, a notebook's later runs and the processes it starts (sweep workers)
    # inherited the small workspace.
    monkeypatch.delenv(VARIABLE, raising=False)
    with torch_settings_kept():
        use_deterministic_kernels(torch.device("cuda"))
        assert os.environ[VARIABLE] == CUBLAS_DETERMINISTIC
    assert VARIABLE not in os.environ


def test_the_variable_is_set_though_cuda_has_started(monkeypatch):
    # torchrun's set_device starts CUDA before the Trainer sets it; cuBLAS reads it at
    # the first matrix product, later: left unset there, deterministic GPU runs warned.
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    use_deterministic_kernels(torch.device("cuda"))
    assert os.environ[VARIABLE] == CUBLAS_DETERMINISTIC
