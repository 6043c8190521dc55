"""What each torchrun process trains on in an epoch, against one process at the same
global batch (README, "Distributed training"): the ranks' shares are disjoint and cover
every image, except where the last step would give each rank a single image."""

import torch

from cnnlab.train import TrainConfig
from cnnlab.train.distributed import DistInfo
from cnnlab.train.evaluate import Preprocess
from cnnlab.train.run_data import make_loader


def epoch_labels(images: int, batch: int, world_size: int, epoch: int = 1) -> list[list]:
    """Each rank's training labels (the images' indices) in ``epoch``, batch by batch,
    the padding repeats a rank's last batch may end in left out."""
    labels = torch.arange(images)
    pixels = torch.zeros(images, 1, 4, 4, dtype=torch.uint8)
    cfg = TrainConfig(model="lenet_modern", batch_size=batch)
    shares = []
    for rank in range(world_size):
        loader = make_loader(cfg, Preprocess(1, 4, None, None), pixels, labels, train=True,
                             device=torch.device("cpu"), dist=DistInfo(rank, world_size))
        loader.set_epoch(epoch)
        shares.append([y[:loader.real_samples(step)[0]].tolist()
                       for step, (_, y) in enumerate(loader)])
    return shares


def test_two_ranks_train_every_image_once_where_it_does_not_divide():
    for images in (131, 127, 7):
        one = [i for batch in epoch_labels(images, 64, 1)[0] for i in batch]
        two = [i for rank in epoch_labels(images, 32, 2) for batch in rank for i in batch]
        assert sorted(two) == sorted(one) == list(range(images)), images
        # Step by step the same images as one process at the global batch
        first, second = epoch_labels(images, 32, 2)
        steps = [sorted(a + b) for a, b in zip(first, second, strict=True)]
        assert steps == [sorted(b) for b in epoch_labels(images, 64, 1)[0]], images


def test_a_last_step_of_one_image_a_rank_is_left_out_as_readme_says():
    # 130 at 2 x 64: each rank's last batch would be one image (batch norm cannot
    # normalise it): 128 trained, a different 2 left out each epoch; 1 x 128 trains 130.
    assert sum(map(len, epoch_labels(130, 128, 1)[0])) == 130
    left_out = set()
    for epoch in (1, 2):
        trained = [i for rank in epoch_labels(130, 64, 2, epoch) for b in rank for i in b]
        assert len(trained) == len(set(trained)) == 128
        left_out.add(frozenset(set(range(130)) - set(trained)))
    assert len(left_out) == 2
    # One process leaves out a lone last image only: 129 at 128
    assert sum(map(len, epoch_labels(129, 128, 1)[0])) == 128
