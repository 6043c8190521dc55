"""Behaviour of the training loop's core that hand-made mutants of cnnlab/train/ showed
no test pinned (session 40, mutation33): the warm-up advice at its smallest room, which
rank writes, what the ranks agree on and share, and each rank's share of a step's loss."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.distributed as dist
from torch import nn

from cnnlab.train import distributed
from cnnlab.train.distributed import DistInfo, StopPoints
from cnnlab.train.lr_plan import warn_of_a_warmup_without_room


def test_a_run_with_room_for_the_shortest_warmup_is_advised_that_one():
    # 2 epochs of 2 steps, cosine: 2 steps of room after a warm-up, so a 2-step warm-up
    # (the least there is) fits, and the advice must give it, not "warmup_epochs 0".
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_of_a_warmup_without_room(1.5, 2, "cosine", 2)
    (message,) = [str(w.message) for w in caught]
    assert "give warmup_epochs 1.2 or less" in message  # 2.4 steps: 2


def test_only_global_rank_0_is_main_on_every_node():
    # Rank 4 of 8 is local rank 0 on the second node: it must not write the run.
    assert not DistInfo(rank=4, world_size=8, local_rank=0).is_main
    assert DistInfo(rank=0, world_size=8, local_rank=0).is_main


def test_a_connection_closed_by_peer_is_a_lost_rank():
    # As gloo words it once its source file's name is cut off (backend_words)
    exc = RuntimeError("Connection closed by peer [127.0.0.1]:2453")
    assert distributed.lost_a_rank(exc)
    assert not distributed.lost_a_rank(RuntimeError("CUDA out of memory"))


@pytest.fixture
def group_of_one():
    """A process group of one, which the tests tell it is some rank of two: the
    collectives run, and the rules of who says what hold."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_the_time_budget_is_kept_by_rank_0s_clock_alone(group_of_one):
    # Rank 1 out of time (its clock counts its waits for rank 0's checkpoints): no stop.
    points = StopPoints(DistInfo(rank=1, world_size=2), torch.device("cpu"), 50)
    said = points.check(True, False, False, True, torch.zeros(()))
    assert said == (False, False, False)
    points = StopPoints(DistInfo(rank=0, world_size=2), torch.device("cpu"), 50)
    assert points.check(True, False, False, True, torch.zeros(())).out_of_time


def test_a_nan_loss_on_any_rank_is_agreed_as_diverged(group_of_one):
    points = StopPoints(DistInfo(rank=1, world_size=2), torch.device("cpu"), 50)
    said = points.check(True, False, False, False, torch.tensor(float("nan")))
    assert said.diverged and not said.signal


def test_each_ranks_loss_is_weighted_by_its_share_of_the_steps_real_images():
    # 5 real images over 2 ranks (3 and 2): DDP averages the ranks' gradients, so each
    # rank's mean loss is weighted own * world / total, as one process's mean of 5.
    assert distributed.gradient_share(3, 5, 2) == pytest.approx(1.2)
    assert distributed.gradient_share(2, 5, 2) == pytest.approx(0.8)
    assert distributed.gradient_share(4, 8, 2) == 1.0
    assert distributed.gradient_share(0, 5, 2) == 0.0  # a rank left only a repeat


def test_a_training_forwards_padding_rows_are_dropped():
    logits = torch.arange(10.0).reshape(5, 2)
    assert distributed.real_rows(logits, 3).tolist() == logits[:3].tolist()
    assert distributed.real_rows(logits, 5) is logits
    aux = (logits, None, logits * 2)  # GoogLeNet's (logits, aux2, aux1), aux2 off
    out = distributed.real_rows(aux, 2)
    assert out[0].shape == (2, 2) and out[1] is None and out[2].tolist() == [[0, 2], [4, 6]]


def test_one_process_stops_only_where_an_optimizer_step_was_taken():
    # Mid-accumulation the summed gradients are in no checkpoint: a Ctrl-C or the time
    # budget there waits for the window's optimizer step.
    points = StopPoints(DistInfo(), torch.device("cpu"), 50)
    assert points.check(False, False, True, True, torch.zeros(())) == (False, False, False)
    assert points.check(True, False, True, True, torch.zeros(())) == (True, True, False)


def test_every_rank_takes_rank_0s_float_buffers(monkeypatch):
    sent = []
    monkeypatch.setattr(distributed.dist, "broadcast",
                        lambda tensor, src: sent.append((tensor, src)))
    model = nn.BatchNorm1d(3)
    distributed.share_rank0_buffers(model, DistInfo(rank=1, world_size=2))
    assert [(t is b, src) for (t, src), b in zip(
        sent, (model.running_mean, model.running_var), strict=True)] == [(True, 0)] * 2
    sent.clear()
    distributed.share_rank0_buffers(model, DistInfo())  # one process: nothing to share
    assert sent == []


def test_the_checkpoint_gathers_the_other_ranks_rng_states_not_rank_0s(monkeypatch):
    def gather(out, own):
        for rank in range(len(out)):
            out[rank] = {"torch": own["torch"] + rank}
    monkeypatch.setattr(distributed.dist, "all_gather_object", gather)
    states = distributed.rank_rng_states(DistInfo(rank=0, world_size=3))
    assert sorted(states) == ["rng.rank1.torch", "rng.rank2.torch"]  # rank 0's: its own
