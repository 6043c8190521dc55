"""Shared test setup, and fixtures for the data-layer tests (tiny IDX sets).

Tests run PyTorch on one thread: their tensors are tiny, and on a small machine
shared with other work, OpenMP threads waiting for a busy core make small ops
tens of times slower. Subprocesses (torchrun, the CLI) inherit the setting.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Whether a bar is live follows these (cnnlab.progress.shows_live): a CI that colours its
# log with FORCE_COLOR, or a dumb terminal, would otherwise turn off the bars the progress
# tests draw on consoles they force to be terminals. tests/test_terminals.py sets them
# where it means to.
os.environ.pop("FORCE_COLOR", None)
os.environ.pop("TTY_COMPATIBLE", None)
os.environ.pop("TTY_INTERACTIVE", None)
os.environ.pop("TERM", None)  # TERM=dumb: no live bar either
# A developer's own models ($CNNLAB_MODELS) would join the registry the tests list.
os.environ.pop("CNNLAB_MODELS", None)
# The free memory is the tests' to fake where they mean to (tests/test_big_data.py).
os.environ.pop("CNNLAB_NO_MEMORY_CHECK", None)

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

import cnnlab.train.run  # noqa: F401 (before any test: see the note below the imports)
from cnnlab.data import fashion_mnist as fm
from cnnlab.data.idx import write_idx

# cnnlab.train.run binds cnnlab.data.load_dataset when imported: first imported inside a
# test that had patched that with a stand-in (the speedrun tests do), it kept the stand-in
# for every later test in the process (4 of test_cli_train.py failed after
# test_speedrun_resume.py in one process). So it is imported here, before any test.

torch.set_num_threads(1)

# Property tests draw the same examples on every run ("default"), so a CI result does not
# depend on the draw; `pytest --hypothesis-profile explore` draws new ones to look for more.
settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")


@pytest.fixture(autouse=True)
def _torch_process_settings():
    """Torch's thread count and deterministic mode as each test found them: a Trainer built
    directly (not through train(), which restores them) with deterministic=True left
    deterministic algorithms on for every later test in that xdist worker."""
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())
    yield
    torch.set_num_threads(before[0])
    torch.use_deterministic_algorithms(before[1], warn_only=before[2])


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    """Runs trained in a test write their report without figures (CNNLAB_NO_FIGURES, as
    `--no-figures` sets it; inherited by the CLI and torchrun the test starts): drawing
    them was ~85% of a tiny run's time (4.0 s against 0.7 s), in a suite that trains
    hundreds and looks at few. A test that looks at a run's figures (plots/, the
    report's images) asks for :func:`figures_drawn`. Module- and session-scoped fixtures
    (tiny_run) are set up outside it, and draw theirs as before."""
    from cnnlab.figures import NO_FIGURES_VARIABLE

    monkeypatch.setenv(NO_FIGURES_VARIABLE, "1")


@pytest.fixture
def registry():
    """register_model, for the test alone: the names it registers, and the $CNNLAB_MODELS
    state, go after it."""
    from cnnlab.models import _registry

    before = dict(_registry._REGISTRY)
    yield _registry.register_model
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(before)
    _registry._families_loaded = False


@pytest.fixture
def figures_drawn(monkeypatch):
    """A run's figures drawn, as a user's run draws them: for the tests that look at them
    (``@pytest.mark.usefixtures("figures_drawn")``, or a module's ``pytestmark``)."""
    from cnnlab.figures import NO_FIGURES_VARIABLE

    monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)


@dataclass
class TinyFashion:
    """What was written, to compare the loaded tensors against."""

    directory: Path
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def write_tiny_fashion(
    directory: Path, n_train: int = 20, n_test: int = 10, gz: bool = True, seed: int = 0
) -> TinyFashion:
    """Four Fashion-MNIST-shaped IDX files; labels cycle 0..9 so every class is present."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx(directory / (f"{name}.gz" if gz else name), array)
    return TinyFashion(directory, *arrays.values())


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $CNNLAB_DATA, cache under tmp_path, no system copy, and no network.

    Returns tmp_path; the cache root is tmp_path / "cache".
    """
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")

    def no_network(url: str, timeout: float):
        raise OSError(f"tests must not use the network ({url})")

    monkeypatch.setattr(fm, "_open_url", no_network)
    return tmp_path


@pytest.fixture
def tiny_fashion(data_env: Path) -> Callable[..., TinyFashion]:
    """Factory writing a tiny IDX set into a directory, inside the isolated environment."""
    return write_tiny_fashion


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run folder: lenet_modern, one epoch on the synthetic set (512 images),
    with its best and last checkpoints (for tests that read runs back: eval, predict,
    export). Trained on what its config names, so eval reads the same data back."""
    from cnnlab.train import TrainConfig, train

    out = tmp_path_factory.mktemp("runs")
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(out), run_name="tiny")
    train(cfg)
    return out / "tiny"


@pytest.fixture
def pythons_ctrl_c():
    """Python's own SIGINT handler (KeyboardInterrupt), as a program started from a
    terminal has it. A test session started in the background (`pytest ... &` from a
    script: the shell sets SIGINT to ignored, and Python keeps an ignored SIGINT) has none,
    and code that rightly stands aside then cannot be tested for Ctrl-C."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
