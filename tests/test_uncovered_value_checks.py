"""Values refused from Python (a notebook, a settings file) by checks no other test
reached (found by a branch-coverage run of the whole suite): each error names the field or
argument, the value given and what is allowed, before anything trains or loads."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data.augment import Augment
from cnnlab.data.loader import DeviceLoader
from cnnlab.train import ConfigError, TrainConfig


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("schedule", "cosin", "constant, onecycle, cosine"),
    ("preset", "book2", "book, fast, or none"),
    ("muon_lr", 0.0, "a number > 0"),
    ("warmup_epochs", -1.0, "a number >= 0"),
    ("scratch_ops", "yes", "false, true or 'fft'"),
    ("train_subset", 0, "a number of training images >= 1, or None for all of them"),
    ("whiten_stem", "no", "true or false"),
])
def test_a_bad_value_names_its_field_and_what_is_allowed(field, value, allowed):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{field: value}).validate()
    assert str(caught.value) == f"invalid value for {field}: {value!r}; allowed: {allowed}"
    assert caught.value.field == field  # the CLI names the flag that set it from this


def _images(n: int = 4) -> torch.Tensor:
    return torch.zeros(n, 1, 8, 8, dtype=torch.uint8)


@pytest.mark.parametrize(("images", "labels", "kwargs", "error", "words"), [
    (_images(), torch.zeros(4, 1, dtype=torch.long), {}, ValueError,
     "labels must be a 1-D integer tensor with one label per image"),
    (_images(0), torch.zeros(0, dtype=torch.long), {}, ValueError, "the dataset is empty"),
    (_images(), torch.zeros(4, dtype=torch.long), {"dtype": torch.int32}, TypeError,
     "dtype must be floating (float32, bfloat16, ...), got torch.int32"),
    (_images(), torch.zeros(4, dtype=torch.long), {"augment": "flip"}, TypeError,
     "augment must be an Augment or None, got str"),
    (_images(), torch.zeros(4, dtype=torch.long), {"resize": (0, 8)}, ValueError,
     "resize must be a positive int or (height, width), got (0, 8)"),
])
def test_device_loader_refuses_what_it_cannot_batch(images, labels, kwargs, error, words):
    with pytest.raises(error) as caught:
        DeviceLoader(images, labels, 2, **kwargs)
    assert words in str(caught.value)


def test_device_loader_batch_out_of_range_names_the_count():
    loader = DeviceLoader(_images(5), torch.arange(5), 2, augment=Augment())
    assert len(loader) == 3  # 2 + 2 + 1: the last batch kept
    assert loader.batch(0, 2)[0].shape[0] == 1  # the last batch, of the one image left
    with pytest.raises(IndexError, match="batch 3 out of range for 3 batches"):
        loader.batch(0, 3)


@pytest.mark.parametrize(("k", "alpha"), [(0, 0.5), (5, 0.0), (5, 1.5)])
def test_lookahead_refuses_a_step_count_or_pull_it_cannot_use(k, alpha):
    from cnnlab.train.optim import Lookahead

    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=rf"Lookahead needs k >= 1 and 0 < alpha <= 1, got "
                                         rf"k={k}, alpha={alpha}"):
        Lookahead(sgd, k, alpha)


def test_complexity_bins_refuse_zero_bins_and_are_log_spaced():
    import numpy as np

    from cnnlab.design.edf import complexity_bin_edges

    with pytest.raises(ValueError, match="bins must be >= 1, got 0"):
        complexity_bin_edges([1e6, 4e6], bins=0)
    edges = complexity_bin_edges([4e6, 1e6, 2e6], bins=2)
    np.testing.assert_allclose(edges, [1e6, 2e6, 4e6])  # equal ratios: 2x each


@pytest.mark.parametrize("threads", [0, 1.5, True])
def test_evaluate_run_refuses_a_thread_count_before_loading_the_run(threads, tmp_path):
    from cnnlab.train import evaluate_run

    # The folder is not even looked at: the value is wrong whatever the run.
    with pytest.raises(ConfigError, match=rf"threads {threads}: give a whole number of CPU "
                                          r"threads, 1 or more"):
        evaluate_run(tmp_path / "no-such-run", threads=threads)
