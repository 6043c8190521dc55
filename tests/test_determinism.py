"""A seed decides a run: the same batches, augmentation and first weights whatever the
thread count, the batch size (for the order) or the evaluation settings, and a resume at
an epoch boundary ends as the uninterrupted run did, dropout, EMA and augmentation on.

On a CPU the gradients' float sums are split among torch's threads, so runs are equal
bit for bit for the same ``threads`` only; what comes before them (the data pipeline,
the first weights) does not depend on it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig
from cnnlab.train import evaluate as evaluation
from cnnlab.train.device import torch_threads
from cnnlab.train.trainer import Trainer

AUGMENT = dict(crop_padding=2, flip=True, erase_prob=0.5, normalize=True)


def grey_images(n: int = 200, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)


def test_channel_stats_are_exact_whatever_the_thread_count_or_chunk(monkeypatch):
    # Float32 sums split among two threads rounded otherwise than one thread's: on these
    # 200 images the std differed, and on Fashion-MNIST's 60,000 too.
    images = grey_images()
    values = [int(v) for v in images.flatten()]
    n, total = len(values), sum(values)
    mean = Fraction(total, 255 * n)
    # The squared deviations from the mean, as integers: n v - total = 255 n (v/255 - mean)
    var = Fraction(sum((n * v - total) ** 2 for v in values), (255 * n) ** 2 * (n - 1))
    with torch_threads(1):
        one = evaluation.channel_stats(images)
    with torch_threads(2):
        two = evaluation.channel_stats(images)
    monkeypatch.setattr(evaluation, "_STATS_CHUNK", 7 * 28 * 28)  # 7 images at a time
    chunked = evaluation.channel_stats(images)
    assert one == two == chunked
    assert one[0] == [float(mean)]
    assert one[1][0] == pytest.approx(math.sqrt(var), rel=1e-15)


def test_a_constant_channel_and_an_empty_split_keep_their_stats():
    images = torch.full((5, 2, 3, 3), 9, dtype=torch.uint8)
    images[:, 0] = grey_images(5)[:, 0, :3, :3]
    mean, std = evaluation.channel_stats(images)
    assert mean[1] == 9 / 255 and std[1] == 1.0  # centred, not scaled
    assert std[0] == pytest.approx(images[:, 0].float().div(255).std().item(), rel=1e-6)
    assert evaluation.channel_stats(images[:0]) == ([0.0, 0.0], [1.0, 1.0])


def test_a_trainer_on_one_or_two_threads_has_the_same_batches_and_first_weights(tmp_path):
    # Threads change the gradients' sums, but nothing before them: the normalisation the
    # run records (and a resume with another --threads recomputes), the batches, the
    # initial weights.
    data = make_synthetic(num_train=200, num_test=20, seed=3)
    data.train.images[:] = grey_images()  # whose float32 stats depended on the threads
    built = {}
    for threads in (1, 2):
        cfg = TrainConfig(model="lenet_modern", data="synthetic", device="cpu", quiet=True,
                          threads=threads, batch_size=64, **AUGMENT)
        with torch_threads(None):  # the Trainer sets the process's count
            trainer = Trainer(cfg, data)
        built[threads] = (trainer.preprocess, trainer.train_loader.batch(1, 2),
                          trainer.model.state_dict())
    (pre1, (x1, y1), w1), (pre2, (x2, y2), w2) = built[1], built[2]
    assert pre1 == pre2
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
