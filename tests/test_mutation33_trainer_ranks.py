"""The Trainer as rank 1 of a torchrun job (in a process group of one, told it is rank 1
of 2), and the epoch it gives its loader: mutants of cnnlab/train/trainer.py that let
every rank write, gave every rank rank 0's dropout seed, or showed every epoch the first
epoch's batches passed the suite, as did one that let a tie replace the "best"
checkpoint (session 40, mutation33)."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, trainer
from cnnlab.train.trainer import Trainer


def _config(**kw) -> TrainConfig:
    return TrainConfig(**{"model": "lenet_modern", "data": "synthetic", "batch_size": 8,
                          "device": "cpu", "quiet": True, **kw})


@pytest.fixture
def as_rank(monkeypatch):
    """Build Trainers as the given rank of 2, in a gloo group of one: the collectives
    run on this process's own values."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    # Gathering the other rank's RNG state needs that rank: none here.
    monkeypatch.setattr(trainer, "rank_rng_states", lambda info: {})

    def build(rank: int, run_dir=None, **kw) -> Trainer:
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        return Trainer(_config(**kw), make_synthetic(num_train=32, num_test=8, seed=5),
                       run_dir=run_dir)
    try:
        yield build
    finally:
        dist.destroy_process_group()


def test_a_rank_other_than_0_writes_nothing_into_the_run(tmp_path, as_rank):
    # Rank 0 writes the run (on a disk the others may not see); a second writer would
    # race it for the same files.
    rank1 = as_rank(1, run_dir=tmp_path, epochs=1)
    assert rank1.dist.rank == 1 and not rank1.writes
    rank1.fit()
    assert list(tmp_path.iterdir()) == []


def test_the_ranks_draw_their_own_dropout_masks(as_rank):
    as_rank(0)
    seed0 = torch.initial_seed()
    as_rank(1)
    assert torch.initial_seed() != seed0  # same weights (one seed), masks of their own


def test_each_epoch_gives_its_number_to_the_loader():
    # Batch order and augmentation are drawn from (seed, epoch, batch): an epoch number
    # stuck at 1 showed every epoch the first one's batches.
    run = Trainer(_config(epochs=3), make_synthetic(num_train=16, num_test=8, seed=5))
    asked, set_epoch = [], run.train_loader.set_epoch
    run.train_loader.set_epoch = lambda epoch, **kw: (asked.append(epoch),
                                                      set_epoch(epoch, **kw))
    run.fit()
    assert asked == [1, 2, 3]


def test_a_later_epoch_that_only_ties_the_best_keeps_the_first_best(tmp_path):
    # lr ~0 on a network without BN: every epoch scores the same; "best" stays epoch 1's
    # checkpoint (a tie is no improvement), written once.
    run = Trainer(_config(model="lenet_d2l", epochs=3, lr=1e-12),
                  make_synthetic(num_train=16, num_test=8, seed=5), run_dir=tmp_path)
    saved, save = [], run._save
    run._save = lambda tag, **kw: (saved.append(tag), save(tag, **kw))
    result = run.fit()
    assert len({row["test_acc"] for row in result.history}) == 1
    assert saved == ["best", "last", "last", "last"]
