"""DeviceLoader: coverage, sharding, determinism, resume, augmentation, output format.

Labels are set to each sample's index (``arange``), so ``y`` says which samples a
batch holds.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision import transforms

from cnnlab.bench.loader import BOOK, PILImages, pixel_difference, run_loader_bench
from cnnlab.data.augment import Augment, resize, to_float
from cnnlab.data.loader import DeviceLoader, mix_seed


def dataset(n: int = 103, c: int = 1, size: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, c, size, size), dtype=torch.uint8, generator=g)
    return images, torch.arange(n)


def epoch_ids(loader: DeviceLoader) -> torch.Tensor:
    return torch.cat([y for _, y in loader])


def all_batches(loader: DeviceLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def same_batches(a, b) -> bool:
    if len(a) != len(b):
        return False
    pairs = zip(a, b, strict=True)
    return all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in pairs)


# ----------------------------------------------------------------------------- coverage


def test_every_sample_once_per_epoch():
    loader = DeviceLoader(*dataset(103), 10, seed=1)
    assert len(loader) == 11 and loader.num_samples == 103
    for _ in range(2):
        batches = [y for _, y in loader]
        assert [len(y) for y in batches] == [10] * 10 + [3]
        ids = torch.cat(batches)
        assert torch.equal(ids.sort().values, torch.arange(103))
        assert not torch.equal(ids, torch.arange(103)), "training order is not shuffled"


def test_drop_last_drops_only_the_incomplete_batch():
    loader = DeviceLoader(*dataset(103), 10, drop_last=True)
    ids = epoch_ids(loader)
    assert len(loader) == 10 and loader.num_samples == 100 and len(ids) == 100
    assert len(ids.unique()) == 100


@pytest.mark.parametrize("n, world, batch", [(100, 4, 5), (103, 4, 10), (3, 4, 2)])
def test_shards_are_disjoint_equal_and_cover_the_dataset(n, world, batch):
    images, labels = dataset(n)
    loaders = [DeviceLoader(images, labels, batch, seed=3, rank=r, world_size=world)
               for r in range(world)]
    shards = [epoch_ids(ld) for ld in loaders]
    assert len({len(ld) for ld in loaders}) == 1 and len({len(s) for s in shards}) == 1
    union = torch.cat(shards)
    assert torch.equal(union.unique(), torch.arange(n))  # nothing is left out
    # Padding by wrapping repeats exactly the shortfall, no more.
    assert len(union) - n == -n % world
    if n % world == 0:
        assert len(union.unique()) == len(union)  # disjoint


def test_sharding_with_drop_last_is_disjoint():
    images, labels = dataset(103)
    shards = [epoch_ids(DeviceLoader(images, labels, 5, drop_last=True, rank=r, world_size=4))
              for r in range(4)]
    assert [len(s) for s in shards] == [25] * 4  # 103 // 4 = 25 each (5 batches of 5)
    union = torch.cat(shards)
    assert len(union.unique()) == 100


# ----------------------------------------------------------------------------- determinism


AUG = Augment(crop_padding=2, flip=True, erase_prob=0.5)


def test_same_seed_same_batches_including_augmentation():
    data = dataset(50)
    a = all_batches(DeviceLoader(*data, 8, seed=7, augment=AUG, resize=12))
    b = all_batches(DeviceLoader(*data, 8, seed=7, augment=AUG, resize=12))
    c = all_batches(DeviceLoader(*data, 8, seed=8, augment=AUG, resize=12))
    assert same_batches(a, b)
    assert not same_batches(a, c)


def test_a_dataset_too_large_for_mps_indexing_is_batched_from_the_cpu(monkeypatch):
    # MPS returns rows past 2**31 elements as zeros before torch 2.14 (pytorch#188756):
    # Fashion-MNIST at 224 pixels is 3.0e9. Such data stays on the CPU, gathered there.
    from cnnlab.data import loader as loader_module

    at_224 = torch.empty(60_000, 1, 224, 224, dtype=torch.uint8, device="meta")
    assert loader_module._indexed_wrongly_on(torch.device("mps"), at_224)
    assert not loader_module._indexed_wrongly_on(torch.device("mps"), at_224[:40_000])
    assert not loader_module._indexed_wrongly_on(torch.device("cuda"), at_224)
    data = dataset(50)
    usual = all_batches(DeviceLoader(*data, 8, seed=7, augment=AUG, resize=12))
    monkeypatch.setattr(loader_module, "_indexed_wrongly_on", lambda device, images: True)
    kept_on_cpu = DeviceLoader(*data, 8, seed=7, augment=AUG, resize=12)
    assert kept_on_cpu._rows_on_cpu and same_batches(all_batches(kept_on_cpu), usual)
    in_order = all_batches(DeviceLoader(*data, 8, shuffle=False))
    assert torch.equal(torch.cat([y for _, y in in_order]), data[1])
    assert torch.equal(torch.cat([x for x, _ in in_order]), data[0].float() / 255)


def test_each_epoch_has_its_own_order_and_set_epoch_replays_it():
    data = dataset(50)
    run = DeviceLoader(*data, 8, seed=7, augment=AUG)
    epochs = [all_batches(run) for _ in range(3)]
    assert run.epoch == 3
    assert not torch.equal(torch.cat([y for _, y in epochs[0]]),
                           torch.cat([y for _, y in epochs[1]]))
    fresh = DeviceLoader(*data, 8, seed=7, augment=AUG)
    fresh.set_epoch(2)
    assert same_batches(all_batches(fresh), epochs[2])
    fresh.set_epoch(1, start_batch=4)  # mid-epoch resume: the tail, bit for bit
    assert same_batches(all_batches(fresh), epochs[1][4:])
    x, y = fresh.batch(2, 5)
    assert torch.equal(x, epochs[2][5][0]) and torch.equal(y, epochs[2][5][1])


def test_seed_mixing_separates_seed_and_epoch():
    assert mix_seed(0, 1) != mix_seed(1, 0)
    assert mix_seed(3, 4) == mix_seed(3, 4)
    assert 0 <= mix_seed(2**70, -5) < 2**63


def test_ranks_draw_different_augmentations():
    images = torch.full((8, 1, 6, 6), 200, dtype=torch.uint8)
    images[:, :, :, :3] = 10  # left half dark: flips and shifts show
    outs = [next(iter(DeviceLoader(images, torch.zeros(8, dtype=torch.long), 4, shuffle=False,
                                   augment=Augment(crop_padding=1, flip=True),
                                   rank=r, world_size=2)))[0] for r in range(2)]
    assert not torch.equal(outs[0], outs[1])


# ----------------------------------------------------------------------------- evaluation


def test_evaluation_mode_is_the_dataset_in_order():
    images, labels = dataset(30, c=3)
    loader = DeviceLoader(images, labels, 8, shuffle=False, mean=0.5, std=0.2)
    first, second = all_batches(loader), all_batches(loader)
    assert same_batches(first, second)
    assert torch.equal(torch.cat([y for _, y in first]), labels)
    assert torch.equal(torch.cat([x for x, _ in first]), to_float(images, 0.5, 0.2))
    assert images.eq(dataset(30, c=3)[0]).all(), "the loader wrote into its data"


# ----------------------------------------------------------------------------- augmentation


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
def test_loader_crop_gives_each_sample_a_window_of_its_padded_image(pad_mode):
    images, labels = dataset(40, c=2, size=6)
    p = 2
    loader = DeviceLoader(images, labels, 16, augment=Augment(crop_padding=p, pad_mode=pad_mode))
    mode = "constant" if pad_mode == "zeros" else "reflect"
    padded = F.pad(images, (p, p, p, p), mode=mode)
    shifts = set()
    for x, y in loader:
        pixels = (x * 255).round().to(torch.uint8)
        for img, i in zip(pixels, y.tolist(), strict=True):
            hits = [(dy, dx) for dy in range(2 * p + 1) for dx in range(2 * p + 1)
                    if torch.equal(img, padded[i, :, dy:dy + 6, dx:dx + 6])]
            assert hits, f"sample {i} is not a window of its padded image"
            shifts.add(hits[0])
    assert len(shifts) > 5, "samples do not get their own offsets"


# The cache holds uint8 pixels from PIL's fixed-point resize; per batch resizes floats.
ONE_GREY = 1.001 / 255


def close_batches(a, b, atol: float = ONE_GREY) -> bool:
    if len(a) != len(b):
        return False
    pairs = zip(a, b, strict=True)
    return all(torch.allclose(xa, xb, atol=atol, rtol=0) and torch.equal(ya, yb)
               for (xa, ya), (xb, yb) in pairs)


def test_flip_only_keeps_the_resize_cache_and_matches_flipping_first():
    images, labels = dataset(20, c=3)
    aug = Augment(flip=True)
    cached = DeviceLoader(images, labels, 20, seed=2, augment=aug, resize=17)
    direct = DeviceLoader(images, labels, 20, seed=2, augment=aug, resize=17, cache_resized=False)
    assert cached.cached_resize and not direct.cached_resize
    # Flipping after the resize (cache) equals flipping before it (per batch).
    assert close_batches(all_batches(cached), all_batches(direct))
    x, y = cached.batch(0, 0)
    plain = next(iter(DeviceLoader(images, labels, 20, shuffle=False, resize=17)))[0][y]
    flipped = (x != plain).flatten(1).any(1)
    assert 0 < int(flipped.sum()) < 20
    assert torch.equal(x[flipped], plain[flipped].flip(-1)) and torch.equal(x[~flipped],
                                                                             plain[~flipped])


def flipped_mask(loader: DeviceLoader, plain: torch.Tensor, epoch: int) -> torch.Tensor:
    """Which dataset images epoch ``epoch`` of ``loader`` mirrored, indexed by image."""
    mask = torch.zeros(len(plain), dtype=torch.bool)
    loader.set_epoch(epoch)
    for x, y in loader:
        mask[y] = (x != plain[y]).flatten(1).any(1)
    return mask


def test_alternating_flips_mirror_each_image_every_other_epoch():
    images, labels = dataset(64, c=3)
    images[:, :, :, 0] = 0  # no image equals its own mirror
    images[:, :, :, -1] = 255
    plain = next(iter(DeviceLoader(images, labels, 64, shuffle=False)))[0]
    loader = DeviceLoader(images, labels, 10, seed=3,
                          augment=Augment(flip=True, flip_mode="alternate"))
    masks = [flipped_mask(loader, plain, epoch) for epoch in range(4)]
    assert 16 < int(masks[0].sum()) < 48  # a random half to start from
    for epoch in range(3):  # every image, both ways, in any two consecutive epochs
        assert torch.equal(masks[epoch + 1], ~masks[epoch])
    # A function of (seed, epoch, image) alone: batch 3 of epoch 3 made directly
    # (resume) is what iteration made, and another seed starts from another half.
    x, y = loader.batch(3, 3)
    assert torch.equal((x != plain[y]).flatten(1).any(1), masks[3][y])
    other = DeviceLoader(images, labels, 10, seed=4,
                         augment=Augment(flip=True, flip_mode="alternate"))
    assert not torch.equal(flipped_mask(other, plain, 0), masks[0])
    # Random flips, for contrast, do not alternate.
    random = DeviceLoader(images, labels, 10, seed=3, augment=Augment(flip=True))
    assert not torch.equal(flipped_mask(random, plain, 1), ~flipped_mask(random, plain, 0))


def test_random_crop_turns_the_cache_off_and_resizes_after_cropping():
    images, labels = dataset(12, size=10)
    loader = DeviceLoader(images, labels, 12, shuffle=False, resize=24,
                          augment=Augment(crop_padding=3))
    assert not loader.cached_resize
    x, _ = next(iter(loader))
    assert x.shape == (12, 1, 24, 24)
    # Centre offsets only (padding 0 draws nothing): per-batch path equals the cache path.
    for channels_last, dtype in [(False, torch.float32), (True, torch.bfloat16)]:
        kw = dict(shuffle=False, resize=24, mean=0.3, std=0.2, channels_last=channels_last,
                  dtype=dtype)
        images3 = dataset(12, c=3, size=10)[0]
        per_batch = next(iter(DeviceLoader(images3, labels, 12, cache_resized=False, **kw)))[0]
        cached = next(iter(DeviceLoader(images3, labels, 12, **kw)))[0]
        assert per_batch.dtype == dtype and per_batch.shape == (12, 3, 24, 24)
        assert per_batch.is_contiguous(memory_format=torch.channels_last) == channels_last
        tol = ONE_GREY / 0.2 if dtype == torch.float32 else 0.05
        assert torch.allclose(per_batch.float(), cached.float(), atol=tol, rtol=0)


def test_erasing_in_the_loader_fills_with_the_normalised_value():
    images, labels = dataset(64)
    aug = Augment(erase_prob=1.0, erase_value=-9.0)
    x, _ = next(iter(DeviceLoader(images, labels, 64, augment=aug, mean=0.5, std=0.5)))
    assert (x == -9).flatten(1).any(1).all()


# ----------------------------------------------------------------------------- output


def test_resize_cache_output_equals_resizing_each_batch():
    images, labels = dataset(30, c=3)
    loader = DeviceLoader(images, labels, 7, seed=4, resize=(20, 14))
    no_cache = DeviceLoader(images, labels, 7, seed=4, resize=(20, 14), cache_resized=False)
    assert loader.cached_resize and loader.output_size == (20, 14)
    assert close_batches(all_batches(loader), all_batches(no_cache))
    x, y = loader.batch(0, 0)
    assert torch.equal(x, to_float(resize(images[y], (20, 14))))


def test_loader_reproduces_the_books_pixels():
    """Resize(96) + ToTensor on PIL images, as the book's loader does."""
    images, labels = dataset(6, size=28)
    book = PILImages(images, labels, transforms.Compose([transforms.Resize(96),
                                                         transforms.ToTensor()]))
    assert pixel_difference(images, labels, resize=96) == 0.0
    x, _ = next(iter(DeviceLoader(images, labels, 6, shuffle=False, resize=96)))
    ref = torch.stack([book[i][0] for i in range(6)])
    assert torch.equal(x, ref)  # bit for bit


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_output_dtype_layout_and_normalisation(dtype):
    images, labels = dataset(256, c=3)
    pixels = images.float() / 255
    mean, std = pixels.mean(dim=(0, 2, 3)).tolist(), pixels.std(dim=(0, 2, 3)).tolist()
    loader = DeviceLoader(images, labels, 64, mean=mean, std=std, channels_last=True,
                          dtype=dtype, resize=12)
    for x, y in loader:
        assert x.dtype == dtype and y.dtype == torch.int64 and x.device.type == "cpu"
        assert x.shape[1:] == (3, 12, 12)
        assert x.is_contiguous(memory_format=torch.channels_last)
    # Statistics without a resize (interpolating noise smooths it): the data's own
    # mean and std must normalise it to mean 0, std 1.
    tol = 1e-3 if dtype == torch.float32 else 2e-2
    exact = DeviceLoader(images, labels, 256, mean=mean, std=std, shuffle=False, dtype=dtype)
    xe = next(iter(exact))[0].float()
    assert torch.allclose(xe.mean(dim=(0, 2, 3)), torch.zeros(3), atol=tol)
    assert torch.allclose(xe.std(dim=(0, 2, 3)), torch.ones(3), atol=tol)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("images, labels, kwargs, word", [
    (torch.rand(4, 1, 8, 8), torch.arange(4), {}, "uint8"),
    (torch.zeros(4, 8, 8, dtype=torch.uint8), torch.arange(4), {}, "unsqueeze"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(3), {}, "3 labels"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.rand(4), {}, "integers"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4), {"rank": 2, "world_size": 2},
     "rank"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4), {"batch_size": 0},
     "batch_size"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4), {"mean": 0.5}, "both"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4),
     {"augment": Augment(crop_padding=8, pad_mode="reflect")}, "reflect padding"),
])
def test_bad_arguments_name_the_problem(images, labels, kwargs, word):
    kwargs = {"batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=word):
        DeviceLoader(images, labels, **kwargs)


def test_set_epoch_checks_its_range():
    loader = DeviceLoader(*dataset(10), 4)
    with pytest.raises(ValueError, match="start_batch"):
        loader.set_epoch(0, start_batch=4)


# ----------------------------------------------------------------------------- benchmark


def test_the_books_workers_say_how_they_start(monkeypatch):
    # spawn (Windows, macOS) starts and feeds each worker afresh every epoch: the book's
    # times there are not comparable with fork's (Linux), so the table says which.
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none: "spawn")
    rows = run_loader_bench(resize=16, batch_size=32, workers=1, epochs=1, threads=1,
                            data=dataset(64, size=8), augment=False)
    assert {r["parallelism"] for r in rows if r["pipeline"] == BOOK} == {
        "1 worker process (spawn)"}


def test_loader_bench_runs_on_tiny_data():
    threads_before = torch.get_num_threads()
    rows = run_loader_bench(resize=16, batch_size=32, workers=0, epochs=1, threads=1,
                            data=dataset(64, size=8))
    pipelines = {r["pipeline"] for r in rows}
    assert BOOK in pipelines and len(pipelines) == 4
    assert {r["parallelism"] for r in rows if r["pipeline"] == BOOK} == {"main process"}
    assert {r["parallelism"] for r in rows if r["pipeline"] != BOOK} == {"cpu, 1 thread"}
    for r in rows:
        if r["phase"] == "epoch 1":
            assert r["images"] == 64 and r["images_per_s"] > 0
            assert (r["speedup"] is None) == (r["pipeline"] == BOOK)
    assert torch.get_num_threads() == threads_before


@pytest.mark.real_data
def test_real_fashion_mnist_batches_match_the_books_pixels():
    from cnnlab.data import DataError, load_dataset

    try:
        train = load_dataset("fashion-mnist", download=False).train
    except DataError as exc:
        pytest.skip(f"real Fashion-MNIST not available: {exc}")
    assert pixel_difference(train.images, train.labels, resize=96, n=64) == 0.0
