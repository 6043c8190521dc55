"""The data layer's shared pieces, where the other tests leave them unpinned: class
counts of a split missing classes, a non-contiguous image tensor, an IDX file written
over on a disk that fills, a container's memory limit below the machine's, the
synthetic set's pixels at their bounds, and a folder spec naming no path."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import UnknownDatasetError, memory, parse_spec
from cnnlab.data.dataset import ImageData
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.synthetic import make_synthetic


def test_class_counts_has_a_zero_for_each_class_the_split_lacks() -> None:
    # A subset of the first images may miss the last classes; `cnnlab data info` and the
    # warning of a subset missing classes read the counts by class index.
    split = ImageData(torch.zeros(5, 1, 4, 4, dtype=torch.uint8),
                      torch.tensor([0, 2, 2, 1, 0]))
    assert split.class_counts(5) == [2, 1, 2, 0, 0]


def test_images_given_as_a_view_are_kept_contiguous() -> None:
    # A crop or a transposed view: the loader's batches index and view it flat.
    images = torch.zeros(3, 1, 8, 6, dtype=torch.uint8).transpose(2, 3)
    assert not images.is_contiguous()
    split = ImageData(images, torch.zeros(3, dtype=torch.long))
    assert split.images.is_contiguous() and split.images.shape == (3, 1, 6, 8)


def test_an_idx_file_written_over_on_a_full_disk_keeps_its_old_content(tmp_path,
                                                                       monkeypatch) -> None:
    path = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(path, np.arange(10, dtype=np.uint8))
    before = path.read_bytes()
    real_write = Path.write_bytes

    def half_then_full(self, data):  # the disk fills halfway through the file
        real_write(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        write_idx(path, np.arange(20, dtype=np.uint8))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file
    assert list(read_idx(path)) == list(range(10))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/meminfo")
def test_the_free_memory_is_the_cgroups_room_where_it_is_less(monkeypatch) -> None:
    # A container or a Slurm job allowed 1 GiB on a machine with more free: decoding a
    # folder that fits the machine but not the job was killed by the OOM killer.
    free = memory.available_memory("cpu")
    if free is None or free < 2 << 30:
        pytest.skip("no MemAvailable, or under 2 GiB free")
    monkeypatch.setattr(memory, "cgroup_memory_left", lambda: 1 << 30)
    assert memory.available_memory("cpu") == 1 << 30
    monkeypatch.setattr(memory, "cgroup_memory_left", lambda: None)
    assert memory.available_memory("cpu") > 1 << 30


def test_synthetic_pixels_past_black_or_white_are_clamped_not_wrapped() -> None:
    # Noise past 0 or 255 wrapped round as uint8: a dark pixel turned white.
    data = make_synthetic(num_train=40, num_test=10, image_size=8, noise=2000.0)
    pixels = data.train.images
    at_bounds = ((pixels == 0) | (pixels == 255)).float().mean().item()
    assert at_bounds > 0.8


@pytest.mark.parametrize("spec", ["folder:", "folder:   ", "Folder: \t"])
def test_a_folder_spec_of_blanks_names_no_folder(spec) -> None:
    # Not the folder "   " looked for in the current folder, with its own error.
    with pytest.raises(UnknownDatasetError, match="names no folder: give folder:PATH"):
        parse_spec(spec)


@pytest.mark.parametrize(("labels", "said"), [([0, -1, 1], -1), ([0, 1, 2], 2)])
def test_a_label_without_a_class_name_is_refused_where_the_splits_are_made(labels,
                                                                          said) -> None:
    # -1 ("unlabelled") ended training's first step in the loss (a CUDA assert on a GPU).
    from cnnlab.data import DatasetSplits

    good = ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]))
    bad = ImageData(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.tensor(labels))
    with pytest.raises(ValueError, match=rf"test label {said} has no class name "
                                         r"\(2 classes: labels 0..1\)"):
        DatasetSplits("mine", good, bad, ["a", "b"], "made here")
