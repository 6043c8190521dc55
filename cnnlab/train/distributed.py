"""torchrun / DDP helpers.

``torchrun --nproc_per_node=N -m cnnlab train ...`` sets RANK / WORLD_SIZE /
LOCAL_RANK; the trainer then joins the process group (gloo on CPU, NCCL on GPU),
reads its shard of the data, all-reduces its metrics, and only rank 0 writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group when launched by torchrun; a no-op otherwise."""
    world_size = launched_world_size()
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def end_distributed() -> None:
    """Leave the process group (if one was joined), every rank together.

    Call it once every rank has reached the same point: the run finished, or the ranks
    agreed to stop. A rank that exits while another still holds its connections open can
    die in the backend's teardown (SIGABRT, "terminate called without an active
    exception": about 1 two-rank gloo run in 10 here, when rank 1 finished while rank 0
    still wrote its report), and torchrun then kills the other. So: a barrier, then the
    group is destroyed on every rank. Not after an error one rank may have met alone:
    the barrier would wait for ranks that never come.

    Once per process: a group cannot be joined again in the same processes (the second
    rendezvous finds the first one's addresses), so a script that trains several runs
    under torchrun calls it after the last.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over ranks (in place) when distributed."""
    if info.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


@torch.no_grad()
def share_rank0_buffers(model: torch.nn.Module, info: DistInfo) -> None:
    """Give every rank rank 0's floating-point buffers (BN running statistics).

    DDP keeps parameters identical and broadcasts rank 0's buffers at a training
    forward (the first of each accumulation window), so the ranks' BN statistics differ
    only by their own batches since then. Evaluation
    and checkpoints use rank 0's: the ranks then evaluate the same model, and a resumed
    run (which restores rank 0's checkpoint on every rank) continues bit for bit as the
    uninterrupted one. An average over ranks would be a model no checkpoint holds.
    """
    if not info.enabled:
        return
    for buffer in model.buffers():
        if buffer.dtype.is_floating_point:
            dist.broadcast(buffer, src=0)


def any_rank(flag: bool, device: torch.device, info: DistInfo) -> bool:
    """True on every rank if ``flag`` is True on any rank (stop/interrupt agreement)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def rank0_says(flag: bool, device: torch.device, info: DistInfo) -> bool:
    """Rank 0's ``flag`` on every rank (a collective): a decision taken by rank 0's own
    measure, such as its training clock, which is the one the run records."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def rank_rng_states(info: DistInfo) -> dict[str, torch.Tensor]:
    """Every other rank's global RNG state (dropout's masks), gathered on every rank: the
    checkpoint rank 0 writes must hold them for an exact resume. A collective."""
    if not info.enabled:
        return {}
    own = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        own["cuda"] = torch.cuda.get_rng_state()
    gathered: list = [None] * info.world_size
    dist.all_gather_object(gathered, own)
    return {f"rng.rank{rank}.{kind}": state for rank, states in enumerate(gathered)
            if rank != 0 for kind, state in states.items()}


def restore_rank_rng_state(tensors: dict[str, torch.Tensor], info: DistInfo) -> None:
    """This rank's RNG state from a checkpoint's ``rng.rank<r>.*`` tensors (rank 0's is the
    checkpoint's own; a checkpoint from before they were kept leaves rank 0's)."""
    if not info.enabled or info.rank == 0:
        return
    if f"rng.rank{info.rank}.torch" in tensors:
        torch.set_rng_state(tensors[f"rng.rank{info.rank}.torch"])
    if f"rng.rank{info.rank}.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors[f"rng.rank{info.rank}.cuda"])


def launch_command(command: str, world_size: int) -> str:
    """How to run a cnnlab command (e.g. ``resume RUN``) on ``world_size`` processes."""
    if world_size > 1:
        return f"torchrun --nproc_per_node={world_size} -m cnnlab {command}"
    return f"cnnlab {command}"


def launched_world_size() -> int:
    """The number of processes torchrun started this one among (1 without torchrun),
    read before the process group is joined."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_as_main() -> bool:
    """Whether this process is rank 0 of a torchrun launch, or not launched by torchrun:
    the one that writes and speaks, known before the process group is joined."""
    return int(os.environ.get("RANK", "0")) == 0
