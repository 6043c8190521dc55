"""Data larger than the memory it is to be kept in: a folder refused before its decode, a
split made without a second copy, a loader that resizes per batch or keeps its rows on
the CPU where the device has no room. The free memory is faked: nothing large is made."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data import DataWarning, loader
from cnnlab.data import folder as folder_mod
from cnnlab.data.dataset import rows_reordered
from cnnlab.data.folder import FolderDatasetError, load_folder
from cnnlab.data.loader import DeviceLoader


def _tree(root: Path, per_class: int, split: str = "") -> Path:
    for i in range(2 * per_class):
        folder = root / split / f"c{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (i * 20 % 256, 0, 0)).save(folder / f"{i:03d}.png")
    return root


def _no_decode(*args):
    raise AssertionError("decoded a folder too large for the memory")


@pytest.mark.parametrize("split", ["", "both"])
def test_a_folder_too_large_for_the_free_memory_is_refused_before_its_decode(
        data_env, monkeypatch, split):
    if split == "both":  # a split tree counts both of its folders' images
        _tree(data_env / "pets", 2, "train")
        root = _tree(data_env / "pets", 1, "val")
    else:
        root = _tree(data_env / "pets", 3)
    # 6 images at 3x64x64 take 72 KiB; 50,000 bytes are free.
    monkeypatch.setattr(folder_mod, "available_memory", lambda device="cpu": 50_000)
    monkeypatch.setattr(folder_mod, "decode_image", _no_decode)
    with pytest.raises(FolderDatasetError) as caught:
        load_folder(root, image_size=64, channels=3, progress=False)
    message = str(caught.value)
    for words in ("6 image(s) decoded at 64x64", "72.0 KiB", "48.8 KiB free",
                  "--resize 52 or less", "--channels 1"):
        assert words in message


def test_a_folder_that_fits_loads_as_before(data_env, monkeypatch):
    root = _tree(data_env / "pets", 3)
    monkeypatch.setattr(folder_mod, "available_memory", lambda device="cpu": 6 * 3 * 64 * 64)
    data = load_folder(root, image_size=64, channels=3, progress=False, use_cache=False)
    assert len(data.train) + len(data.test) == 6


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 50])
def test_rows_reordered_in_place_are_what_indexing_gives(rows):
    rng = np.random.default_rng(rows)
    images = rng.integers(0, 256, (rows, 2, 3, 3), dtype=np.uint8)
    for order in (rng.permutation(rows), np.arange(rows)):
        expected = images[order]
        assert torch.equal(rows_reordered(images.copy(), order), torch.from_numpy(expected))


def test_a_read_only_array_is_reordered_on_a_copy():
    images = np.arange(24, dtype=np.uint8).reshape(4, 1, 2, 3)
    images.flags.writeable = False
    order = np.array([3, 0, 1, 2])
    assert torch.equal(rows_reordered(images, order), torch.from_numpy(images[order]))


def _peak_rss() -> int:
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) * 1024


def test_splitting_a_folder_holds_its_images_once(data_env):
    """The split took a copy of every image while the decoded ones were held: twice the
    dataset at the peak, which killed a run on a folder of half the machine's memory."""
    try:  # 5 resets the process's peak resident memory (Linux 4.0 and later)
        Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs")
    root = _tree(data_env / "pets", 60)
    before = _peak_rss()
    data = load_folder(root, image_size=256, channels=3, progress=False, use_cache=False)
    grew = _peak_rss() - before
    dataset = 120 * 3 * 256 * 256  # 22.5 MiB
    assert len(data.train) + len(data.test) == 120
    assert grew < 1.5 * dataset, f"peak grew {grew / dataset:.2f} times the dataset"


def _images(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return (torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=gen),
            torch.arange(n) % 10)


def test_a_resize_with_no_room_to_keep_is_done_per_batch(monkeypatch):
    images, labels = _images()
    kept = DeviceLoader(images, labels, 16, shuffle=False, resize=56)
    # 64 images at 56x56 take 196 KiB; the CPU "has" 100 KiB free.
    monkeypatch.setattr("cnnlab.data.memory.available_memory", lambda device: 100 * 1024)
    with pytest.warns(DataWarning, match=r"64 images of 1x56x56 take 196 KiB, and cpu has "
                                         r"100 KiB free.*resized as it is made"):
        per_batch = DeviceLoader(images, labels, 16, shuffle=False, resize=56)
    assert kept.cached_resize and not per_batch.cached_resize
    for (x, y), (x_kept, y_kept) in zip(per_batch, kept, strict=True):
        assert x.shape == (16, 1, 56, 56) and torch.equal(y, y_kept)
        assert (x - x_kept).abs().max() <= 1 / 255 + 1e-6  # within one grey level


def test_rows_a_gpu_has_no_room_for_stay_on_the_cpu(monkeypatch):
    monkeypatch.setattr("cnnlab.data.memory.available_memory", lambda device: 100_000)
    with pytest.warns(DataWarning, match=r"cuda:0 has 97.7 KiB free.*stay in the CPU's memory"):
        assert not loader._fits((64, 1, 56, 56), (torch.device("cuda:0"),),
                                "they stay in the CPU's memory")
    assert loader._fits((16, 1, 56, 56), (torch.device("cuda:0"),), "unused")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_loader_without_room_batches_from_the_cpu(monkeypatch):
    images, labels = _images()
    monkeypatch.setattr("cnnlab.data.memory.available_memory", lambda device: 10_000)
    with pytest.warns(DataWarning, match="stay in the CPU's memory"):
        cuda = DeviceLoader(images, labels, 16, device="cuda", shuffle=False)
    assert cuda._data.device.type == "cpu"
    x, y = next(iter(cuda))
    assert x.device.type == "cuda" and y.device.type == "cuda"
    assert torch.equal(x.cpu(), next(iter(DeviceLoader(images, labels, 16, shuffle=False)))[0])


def test_the_refusal_offers_no_useless_size_and_can_be_overridden(monkeypatch):
    from cnnlab.data.memory import NO_MEMORY_CHECK, too_large_to_decode

    said = too_large_to_decode(1000, (28, 28), 1, free=500)
    assert "--resize" not in said and "--channels" not in said  # "--resize 0" was offered
    assert f"or set {NO_MEMORY_CHECK}=1 to decode them anyway (into swap, slowly)" in said
    monkeypatch.setenv(NO_MEMORY_CHECK, "1")
    assert too_large_to_decode(1000, (28, 28), 1, free=500) is None


@pytest.mark.parametrize("version", [1, 2])
def test_the_free_memory_counts_the_processs_own_cgroup_and_those_above(tmp_path, version):
    # Only the root's limit was read: a Slurm job's or a systemd scope's, set on the
    # process's own group, was missed.
    from cnnlab.data.memory import cgroup_memory_left

    base = tmp_path / ("memory" if version == 1 else "")
    names = (("memory.limit_in_bytes", "memory.usage_in_bytes") if version == 1
             else ("memory.max", "memory.current"))
    for folder, limit, usage in ((base, "max" if version == 2 else str(2**62), 0),
                                 (base / "job", 5000, 1000), (base / "job" / "step", 9000, 500)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / names[0]).write_text(str(limit), encoding="utf-8")
        (folder / names[1]).write_text(str(usage), encoding="utf-8")
        (folder / "memory.stat").write_text("inactive_file 200\n", encoding="utf-8")
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/job/step\n" if version == 1 else "0::/job/step\n",
                    encoding="utf-8")
    assert cgroup_memory_left(proc, tmp_path) == 5000 - 1000 + 200  # the job's, the least
    proc.write_text("4:memory:/\n" if version == 1 else "0::/\n", encoding="utf-8")
    assert cgroup_memory_left(proc, tmp_path) is None  # the root: no limit
