"""DeviceLoader's order: each sample once an epoch with its own label, resumes that
replay an uninterrupted run, and seeds that do not share orders (mutation7, s36)."""

from __future__ import annotations

import pytest
import torch

from cnnlab.data.loader import DeviceLoader


def labelled(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image i is filled with i % 256 and labelled i: a batch's images name their labels."""
    ids = torch.arange(n)
    return (ids % 256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 3, 3).clone(), ids


def epoch(loader: DeviceLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


@pytest.mark.parametrize("n, batch, drop_last", [(23, 5, False), (23, 5, True), (20, 5, False),
                                                 (20, 5, True), (4, 7, False), (23, 1, False)])
def test_each_sample_is_seen_once_an_epoch_with_its_own_label(n, batch, drop_last):
    loader = DeviceLoader(*labelled(n), batch, seed=5, drop_last=drop_last)
    kept = n // batch * batch if drop_last else n
    for _ in range(3):
        batches = epoch(loader)
        sizes = [len(y) for _, y in batches]
        assert sizes == [batch] * (kept // batch) + ([kept % batch] if kept % batch else [])
        assert len(batches) == len(loader)
        ids = torch.cat([y for _, y in batches])
        assert ids.dtype == torch.int64 and len(ids.unique()) == kept == loader.num_samples
        for x, y in batches:  # the pixels are those of the labelled image
            assert torch.equal(x[:, 0, 1, 1], (y % 256).float() / 255)


def test_labels_of_any_integer_type_come_out_int64():
    images, ids = labelled(10)
    for dtype in (torch.uint8, torch.int32):
        _, y = next(iter(DeviceLoader(images, ids.to(dtype), 4)))
        assert y.dtype == torch.int64


def test_a_resumed_epoch_then_the_next_equal_an_uninterrupted_run():
    data = labelled(23)
    straight = DeviceLoader(*data, 5, seed=9)
    epochs = [epoch(straight) for _ in range(3)]
    for start in range(len(straight) + 1):  # len(): the checkpoint at the epoch's very end
        resumed = DeviceLoader(*data, 5, seed=9)
        resumed.set_epoch(1, start_batch=start)
        tail, after = epoch(resumed), epoch(resumed)
        assert all(torch.equal(y, e[1]) for (_, y), e in zip(tail, epochs[1][start:], strict=True))
        assert len(tail) == len(straight) - start
        # The epoch after a resumed one is whole, and is epoch 2 of the run.
        assert len(after) == len(straight)
        assert all(torch.equal(y, e[1]) for (_, y), e in zip(after, epochs[2], strict=True))


def test_neighbouring_seeds_do_not_share_shifted_orders():
    # seed + epoch would make (seed 1, epoch 0) replay (seed 0, epoch 1).
    data = labelled(50)
    a, b = DeviceLoader(*data, 50, seed=0), DeviceLoader(*data, 50, seed=1)
    assert not torch.equal(a.indices(1), b.indices(0))
    assert not torch.equal(a.indices(2), b.indices(1))


def test_unshuffled_shards_interleave_as_distributed_sampler_does():
    images, ids = labelled(10)
    shards = [DeviceLoader(images, ids, 2, shuffle=False, rank=r, world_size=3) for r in range(3)]
    got = [torch.cat([y for _, y in epoch(s)]).tolist() for s in shards]
    # Positions r, r + 3, ... of the order padded by wrapping to 12: 0..9, 0, 1.
    assert got == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    for s in shards:
        for x, y in epoch(s):
            assert torch.equal(x[:, 0, 1, 1], y.float() / 255)
    # Only the wrapped-around repeats are padding, in the last batch of ranks 1 and 2.
    assert [s.real_samples(1) for s in shards] == [(2, 4), (1, 4), (1, 4)]
    assert [s.real_samples(0) for s in shards] == [(2, 6)] * 3


def test_drop_last_shards_drop_the_tail_and_repeat_nothing():
    images, ids = labelled(103)
    shards = [DeviceLoader(images, ids, 1, drop_last=True, seed=2, rank=r, world_size=4)
              for r in range(4)]
    got = [torch.cat([y for _, y in epoch(s)]) for s in shards]
    assert [len(s) for s in shards] == [len(g) for g in got] == [25] * 4  # 103 // 4
    assert len(torch.cat(got).unique()) == 100  # disjoint: no sample twice


def test_a_batch_past_the_last_is_an_index_error_naming_the_count():
    loader = DeviceLoader(*labelled(23), 5, shuffle=False)
    assert torch.equal(loader.batch(0, 4)[1], torch.arange(20, 23))
    for index in (5, -1):
        with pytest.raises(IndexError, match="out of range for 5 batches"):
            loader.batch(0, index)


def test_a_negative_epoch_is_refused():
    loader = DeviceLoader(*labelled(10), 4)
    with pytest.raises(ValueError, match="need epoch >= 0"):
        loader.set_epoch(-1)
