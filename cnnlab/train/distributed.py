"""torchrun / DDP helpers.

``torchrun --nproc_per_node=N -m cnnlab train ...`` sets RANK / WORLD_SIZE /
LOCAL_RANK; the trainer then joins the process group (gloo on CPU, NCCL on GPU),
reads its shard of the data, all-reduces its metrics, and only rank 0 writes.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.distributed as dist

from cnnlab.shell_words import shell_quote


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


# The folder of the run this process trains (None: one that writes nothing), as the last
# Trainer built here said: end_distributed's message names it, ranks other than 0 too.
_run_folder: Path | None = None


def init_distributed(device_type: str, run_dir: Path | None = None) -> DistInfo:
    """Join the process group when launched by torchrun; a no-op otherwise. ``run_dir``:
    the folder of the run the process group trains, for end_distributed to name."""
    global _run_folder
    _run_folder = run_dir
    world_size = launched_world_size()
    if world_size <= 1:
        return DistInfo()
    rank = _launch_number("RANK", 0)
    local_rank = _launch_number("LOCAL_RANK", 0)
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

    Another rank gone by then (killed while rank 0 wrote the report, say) breaks the
    barrier: RankLost, one line that says what stays and how to get the rest, where gloo's
    traceback came after a run that had finished.
    """
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError as exc:
            if not lost_a_rank(exc):
                raise
            run = shell_quote(str(_run_folder)) if _run_folder else "RUN"
            resume = launch_command(f"resume {run}", dist.get_world_size())
            raise RankLost(
                "another process of this torchrun job ended (killed, or failed: its own "
                "output says why) as the processes finished together "
                f"({backend_words(exc)}). What was written stays; rank 0 writes a finished "
                "run's summary.json and report.html last: a run left without them gets "
                f"them, no training repeated, from: {resume}"
                + ("" if _run_folder else " (RUN: the run's folder)")) from exc
        dist.destroy_process_group()


def data_parallel(model: torch.nn.Module, device: torch.device
                  ) -> torch.nn.parallel.DistributedDataParallel:
    """``model`` wrapped in DDP, which checks the ranks' parameters alike and gives them rank
    0's: the job's first collectives with every rank. Another rank gone by then (killed
    as the job started, or failed in its own set-up) is RankLost, one line, where gloo's
    traceback ("Connection closed by peer") named neither what happened nor what to do."""
    ids = [device.index] if device.type == "cuda" else None
    try:
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    except RuntimeError as exc:
        if not lost_a_rank(exc):
            raise
        raise RankLost(
            "another process of this torchrun job ended (killed, or failed: its own output "
            f"says why) as the job started, before any training ({backend_words(exc)}). "
            "Nothing was trained, so nothing is lost: once that process can run, give the "
            "same torchrun command again") from exc


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


# Under torchrun the ranks agree whether to stop at least this often (in rank 0's
# seconds of training): torchrun kills its workers 30 s after a Ctrl-C.
AGREE_SECONDS = 5.0


class StopAt(NamedTuple):
    """Why a run stops at this step, alike on every rank (see StopPoints)."""

    signal: bool  # a SIGINT or SIGTERM on some rank: save and stop
    out_of_time: bool  # the time budget is spent
    diverged: bool = False  # some rank's loss is NaN/inf (under DDP; see check)


class StopPoints:
    """Whether a run stops at this step: for a signal caught, its time budget spent, or
    (under DDP) a NaN/inf loss.

    Only after an optimizer step: gradients accumulated towards the next one are not in
    a checkpoint, and an exact resume needs them. One process may stop at any. Under DDP
    the ranks must stop at the same step (one stopped alone would leave the others waiting
    in the next all-reduce), so they agree, in one collective (a sync): at the first
    optimizer step, then after every ``log_every`` steps, or AGREE_SECONDS of steps if
    that comes sooner (rank 0 says after how many, each time, by its own pace), and at
    each epoch's end. (At log points alone, 50 slow steps on a CPU had outlasted
    torchrun's 30 s grace after a Ctrl-C: killed, with no checkpoint.) A signal on any
    rank stops all; the time budget is kept by rank 0's clock, the one the run records
    (the others' also count their waits for its checkpoints). A NaN/inf in any rank's
    loss ends all: each rank sums only its own batches' losses, and one that diverged
    alone (an fp16 overflow the scaler skips leaves the weights, and the other ranks'
    losses, finite) raised alone, while the others went on into the next all-reduce and
    died with gloo's "Connection reset by peer".
    """

    def __init__(self, info: DistInfo, device: torch.device, log_every: int):
        self.info, self.device, self.log_every = info, device, log_every
        self.every = 1  # steps between agreements, as rank 0 last said: its pace unknown
        self.since = 0  # steps since the last agreement
        self.clock = time.perf_counter()

    def check(self, stepped: bool, last_of_epoch: bool, signalled: bool,
              out_of_time: bool, loss_sum: torch.Tensor) -> StopAt:
        """Why the run stops here, alike on every rank; all False where this step is no
        stop point. ``loss_sum``: this rank's losses so far, on its device; one process
        checks its own at its log points (the Trainer), so only the ranks read it here."""
        if not self.info.enabled:
            return StopAt(signalled, out_of_time) if stepped else StopAt(False, False)
        self.since += 1
        if not stepped or not (self.since >= self.every or last_of_epoch):
            return StopAt(False, False)  # an accumulation step, or not yet due
        main = self.info.is_main
        now = time.perf_counter()
        per_step = (now - self.clock) / self.since
        every = min(self.log_every, max(1, int(AGREE_SECONDS / max(per_step, 1e-9))))
        said = torch.tensor([float(signalled), float(out_of_time and main),
                             float(every if main else 0)], device=self.device)
        # Tested on the device and read with the rest: no sync of its own.
        not_finite = (~torch.isfinite(loss_sum)).to(said.dtype).reshape(1)
        said = torch.cat([said, not_finite])
        dist.all_reduce(said, op=dist.ReduceOp.SUM)  # the 2nd and 3rd: rank 0's alone
        any_signal, rank0_late, self.every, any_diverged = said.tolist()
        self.every, self.since, self.clock = int(self.every), 0, now
        return StopAt(any_signal > 0, rank0_late > 0, any_diverged > 0)


def real_rows(out, rows: int):
    """A training forward's output (logits, or GoogLeNet's tuple of them) for its batch's
    first ``rows`` images: the rest are the padding repeats a rank's last batch may end
    in (DeviceLoader.real_samples), which another rank trains on already."""
    if isinstance(out, tuple):
        return out if len(out[0]) == rows else tuple(o if o is None else o[:rows] for o in out)
    return out if len(out) == rows else out[:rows]


def gradient_share(own: int, total: int, world_size: int) -> float:
    """The factor for a rank's mean loss over its ``own`` real images of a step, so that
    DDP's average of the ranks' gradients is the gradient of the mean over the step's
    ``total`` real images on all ranks, as one process takes it on the same global batch.
    1 for one process, and where every rank's batch is full; the images do not divide
    among the ranks in the epoch's last step alone (0 for a rank left only a repeat)."""
    return own * world_size / total


def one_image_batch_error(exc: ValueError, batch_size: int, images: int,
                          world_size: int) -> ValueError | None:
    """What to do where batch norm refused a training batch of one image (torch's "Expected
    more than 1 value per channel when training"), as a ValueError; None for another
    ValueError. A batch of one comes from ``--batch-size 1``, or an epoch of one image a
    process (``images`` training images over ``world_size`` of them: 2 over 2 processes
    gives each one, which one process at the same global batch trains as a batch of 2);
    a lone last batch of a longer epoch is dropped (run_data.drops_a_lone_last_image)."""
    # torch's words, and cnnlab's scratch batch_norm's ("more than one value per channel")
    if not any(f"more than {n} value per channel" in str(exc) for n in ("1", "one")):
        return None
    why = "the model's batch norm cannot normalise a training batch of one image"
    if batch_size == 1:
        return ValueError(f"--batch-size 1: {why}; give --batch-size 2 or more")
    each = "" if world_size == 1 else f" over {world_size} processes, one each"
    fewer = "" if world_size == 1 else ", or run fewer processes"
    return ValueError(f"{images} training image{'s' if images > 1 else ''}{each}: {why}; "
                      f"train on at least {2 * world_size} images" + fewer)


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


class RankLost(ConnectionError):
    """Another process of the torchrun job ended (killed, out of memory, a crash of its
    own) while this one trained: a collective with it failed. A ConnectionError, so the
    commands say it as one line, as they say a failing disk."""


def lost_a_rank(exc: BaseException) -> bool:
    """Whether ``exc``, raised in a collective, says another rank is gone: gloo's "Connection
    reset by peer" is a plain RuntimeError, NCCL's a DistBackendError."""
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        words in text for words in ("by peer", "Broken pipe", "gloo/transport"))


def backend_words(exc: BaseException) -> str:
    """What a collective's error says, in short: gloo's first sentence without its source
    file ("Connection closed by peer [127.0.0.1]:2453"), and without its advice to read
    the logs."""
    return re.sub(r"^\[[^\]]*\]\s*", "", str(exc).splitlines()[0]).split(". ")[0]


def launch_command(command: str, world_size: int) -> str:
    """How to run a cnnlab command (e.g. ``resume RUN``) on ``world_size`` processes: laid
    out on nodes as this torchrun job is, where it has that many processes (``--nnodes=2
    --nproc_per_node=4`` for 8 on two nodes: ``--nproc_per_node=8`` asked each node for
    all 8), else on one node. A job of several nodes also needs a rendezvous, which a
    process is not told: it is written ``--rdzv-backend=c10d --rdzv-endpoint=HOST:PORT``,
    a host and port to fill in (the command, typed on each node as it was, waited there
    for nodes that never came)."""
    if world_size <= 1:
        return f"cnnlab {command}"
    per_node = _processes_per_node(world_size)
    if per_node < world_size:
        return (f"torchrun --nnodes={world_size // per_node} --nproc_per_node={per_node} "
                f"--rdzv-backend=c10d --rdzv-endpoint=HOST:PORT -m cnnlab {command}")
    return f"torchrun --nproc_per_node={world_size} -m cnnlab {command}"


def relaunch_command(command: str, world_size: int) -> str:
    """:func:`launch_command` for this process's own cnnlab command, every option as typed,
    where it is ``cnnlab COMMAND ...`` (its first word ``command``'s): for a refusal of
    the process count, whose advice without ``--max-time 0``, say, was refused next for
    that. Else (``resume()`` called by a script of the user's) ``command`` as given.
    Not for a command that has done work: a resume's ``--epochs 2``, typed again, adds
    two more epochs."""
    program, typed = Path(sys.argv[0]), sys.argv[1:]
    is_cnnlab = program.stem == "cnnlab" or (program.name == "__main__.py"
                                             and program.parent.name == "cnnlab")
    if is_cnnlab and typed[:1] == command.split()[:1]:
        command = " ".join(map(shell_quote, typed))
    return launch_command(command, world_size)


def _processes_per_node(world_size: int) -> int:
    """This torchrun job's processes per node (LOCAL_WORLD_SIZE: its --nproc-per-node)
    where the job has ``world_size`` processes laid out alike on its nodes (GROUP_WORLD_SIZE
    of them, where set); else ``world_size``: one node, as far as is known."""
    try:
        if launched_world_size() != world_size:
            return world_size  # another job's count (a resume refused for it)
        per_node = _launch_number("LOCAL_WORLD_SIZE", world_size)
        nodes = _launch_number("GROUP_WORLD_SIZE", world_size // max(per_node, 1))
    except ValueError:  # not numbers: not torchrun's
        return world_size
    return per_node if 0 < per_node and per_node * nodes == world_size else world_size


def _launch_number(name: str, default: int) -> int:
    """torchrun's ``name`` variable, or ``default`` where it is not set."""
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:  # int()'s own words named no variable
        raise ValueError(f"{name}={value!r} is not a whole number: torchrun sets it for each "
                         f"process it starts; unset {name} to run in one process") from None


def launched_world_size() -> int:
    """The number of processes torchrun started this one among (1 without torchrun),
    read before the process group is joined."""
    return _launch_number("WORLD_SIZE", 1)


def launched_as_main() -> bool:
    """Whether this process is rank 0 of a torchrun launch, or not launched by torchrun:
    the one that writes and speaks, known before the process group is joined."""
    return launched_world_size() <= 1 or _launch_number("RANK", 0) == 0
