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
from resume_helpers import signal_after_steps

from cnnlab.data.augment import Augment
from cnnlab.data.loader import DeviceLoader
from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, TrainingInterrupted
from cnnlab.train import evaluate as evaluation
from cnnlab.train.device import torch_threads
from cnnlab.train.loaded_run import CheckpointWarning
from cnnlab.train.trainer import Trainer

AUGMENT = dict(crop_padding=2, flip=True, erase_prob=0.5, normalize=True)
# A small network with dropout: training draws from torch's global generator every step.
DROPOUT_NET = dict(model="speednet", model_overrides={"widths": [8, 8, 16], "dropout": 0.3})


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


@pytest.mark.parametrize("augment", [None, Augment(crop_padding=1, flip=True, erase_prob=0.5)])
def test_the_order_of_samples_does_not_depend_on_the_batch_size(augment):
    images, labels = grey_images(103), torch.arange(103)  # y names the sample

    def order(batch_size: int, seed: int = 5) -> torch.Tensor:
        loader = DeviceLoader(images, labels, batch_size, seed=seed, augment=augment)
        loader.set_epoch(2)
        return torch.cat([y for _, y in loader])

    assert torch.equal(order(8), order(50)) and torch.equal(order(8), order(103))
    assert not torch.equal(order(8), order(8, seed=6))


def small_cfg(**fields) -> TrainConfig:
    values = dict(**DROPOUT_NET, **AUGMENT, data="synthetic", epochs=2, batch_size=32,
                  device="cpu", threads=1, quiet=True, optimizer="nesterov",
                  momentum=0.9, lr=0.05, ema_decay=0.3)
    return TrainConfig(**{**values, **fields})


def fit(cfg: TrainConfig, data, run_dir=None) -> tuple[list[list[str]], dict]:
    """Train (a Trainer, as train() and resume() do, without their report): each
    epoch's numbers and the final weights (the model's and the EMA's)."""
    with torch_threads(None):  # the Trainer sets the process's count
        trainer = Trainer(cfg, data, run_dir=run_dir)
        last = run_dir / "checkpoints" / "last.safetensors" if run_dir else None
        if last is not None and last.exists():
            trainer.load_resume_state(last)
        result = trainer.fit()
    weights = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    weights.update({f"ema.{k}": v for k, v in trainer.ema.state_dict().items()})
    return scores(result.history), weights


def scores(history: list[dict]) -> list[list[str]]:
    """Each epoch's losses, accuracies and lr as text (so NaN, an epoch not evaluated,
    reads equal to NaN), the clocks left out."""
    keys = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr")
    return [[repr(row[k]) for k in keys] for row in history]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def stopped_after_epoch_1(cfg: TrainConfig, data, run_dir, monkeypatch) -> None:
    """Train ``cfg`` (3 steps an epoch) into ``run_dir``, Ctrl-C'd after epoch 1's last step."""
    with monkeypatch.context() as patch:
        signal_after_steps(patch, 3)
        with pytest.raises(TrainingInterrupted):
            fit(cfg, data, run_dir=run_dir)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=96, num_test=40, seed=2)  # 3 steps an epoch


def test_evaluation_and_the_progress_bar_draw_nothing_from_the_runs_randomness(data):
    # Dropout draws every step: an evaluation (with test-time views) or a progress bar
    # that drew from the same generator would change the next epoch's masks.
    plain_scores, plain = fit(small_cfg(eval_every=2), data)
    busy_scores, busy = fit(small_cfg(eval_every=1, tta_flip=True, tta_shift=1,
                                      quiet=False, log_every=1), data)
    assert [row[:3] for row in plain_scores] == [row[:3] for row in busy_scores]  # trained
    assert_same_weights(plain, busy)
    again_scores, again = fit(small_cfg(eval_every=2), data)
    assert again_scores == plain_scores  # losses bit for bit, on the same thread count
    assert_same_weights(plain, again)
    seed_1_scores, _ = fit(small_cfg(eval_every=2, seed=1), data)
    assert seed_1_scores[0] != plain_scores[0]


def test_a_resume_after_an_epoch_not_evaluated_is_exact_with_dropout_ema_and_augmentation(
        tmp_path, data, monkeypatch):
    # Stopped at the end of epoch 1, which eval_every 2 leaves unevaluated: the resume
    # must put back the generators (dropout's) as they were, and the EMA.
    cfg = small_cfg(epochs=3, eval_every=2)
    straight_scores, straight = fit(cfg, data)
    stopped_after_epoch_1(cfg, data, tmp_path, monkeypatch)
    original, steps = Trainer._optimizer_step, {"n": 0}

    def count_steps(self):
        original(self)
        steps["n"] += 1

    monkeypatch.setattr(Trainer, "_optimizer_step", count_steps)
    resumed_scores, resumed = fit(cfg, data, run_dir=tmp_path)
    assert steps["n"] == 6  # epochs 2 and 3 only
    assert_same_weights(straight, resumed)
    assert resumed_scores == straight_scores  # epoch 1's row read back from metrics.csv


def test_each_session_of_a_run_records_its_thread_count(tmp_path, data, monkeypatch):
    # A resume on another --threads is not bit for bit on a CPU: the run's history of
    # commands says which session trained on how many threads.
    stopped_after_epoch_1(small_cfg(epochs=2, threads=1), data, tmp_path, monkeypatch)
    with torch_threads(None):
        resumed = Trainer(small_cfg(epochs=2, threads=2), data, run_dir=tmp_path)
        with pytest.warns(CheckpointWarning, match="the thread count differs"):
            resumed.load_resume_state(tmp_path / "checkpoints" / "last.safetensors")
    assert [entry["torch_threads"] for entry in resumed.commands] == [1, 2]
