"""How a torchrun job of `cnnlab train` ends when a signal stops one of its processes: every
rank names the signal and exits with its status (128 + its number)."""

from __future__ import annotations

import pytest
from ddp_helpers import MAIN_WITH_STATUS, launch_two_ranks, rank_script


def _train_two_ranks(tmp_path, mode: str) -> str:
    """SCRIPT in ``mode`` on two CPU ranks; their stderr, once both wrote their status."""
    script = rank_script(tmp_path, "ddp_stops.py", SCRIPT)
    _, stderr = launch_two_ranks(tmp_path, str(script), str(tmp_path), mode)
    for rank in (0, 1):
        assert (tmp_path / f"exit{rank}.txt").is_file(), f"rank {rank}:\n{stderr[-3000:]}"
    return stderr


@pytest.mark.slow
def test_a_sigterm_on_one_rank_is_named_and_exits_143_on_every_rank(tmp_path):
    # Rank 1 alone gets the SIGTERM (a scheduler's, say): rank 0 said "stopped by a signal
    # on another rank", and, knowing no signal, exited 130 as for Ctrl-C.
    stderr = _train_two_ranks(tmp_path, "sigterm-on-rank1")
    codes = [(tmp_path / f"exit{rank}.txt").read_text(encoding="utf-8") for rank in (0, 1)]
    assert codes == ["143", "143"], stderr[-3000:]
    said = " ".join(stderr.split())
    assert said.count("stopped by SIGTERM on another rank at epoch 1, step 1 of 4; checkpoint "
                      "saved") == 1, stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").is_file()


@pytest.mark.slow
def test_a_rank_lost_as_the_processes_finish_together_is_one_line(tmp_path):
    # Rank 1 dies (SIGKILL) once its training is done, as rank 0 writes the report: rank 0,
    # waiting for it in end_distributed's barrier, ended a finished run with gloo's
    # "Connection reset by peer" traceback.
    script = rank_script(tmp_path, "ddp_stops.py", SCRIPT)
    # --monitor-interval 5: torchrun stops rank 0 only after it has said its error
    _, stderr = launch_two_ranks(tmp_path, "--monitor-interval", "5", str(script),
                                 str(tmp_path), "rank1-dies-at-the-end")
    assert (tmp_path / "exit0.txt").read_text(encoding="utf-8") == "1", stderr[-3000:]
    assert "[rank0]: Traceback" not in stderr and "RuntimeError" not in stderr, stderr[-3000:]
    said = " ".join(stderr.split())
    assert said.count("error: another process of this torchrun job ended") == 1, said[-3000:]
    assert "as the processes finished together" in said
    # The run's own folder, a command to paste (was "resume RUN (RUN: the run's folder)")
    assert f"from: torchrun --nproc_per_node=2 -m cnnlab resume {tmp_path / 'run'}" in said
    assert (tmp_path / "run" / "report.html").is_file()  # rank 0's part, done


SCRIPT = r"""
import os
import signal
import sys

out, mode = sys.argv[1], sys.argv[2]
rank = os.environ["RANK"]
with open(f"{out}/pid{rank}.txt", "w", encoding="utf-8") as fh:  # for the harness to stop it
    fh.write(str(os.getpid()))

from cnnlab.cli import main
from cnnlab.train.trainer import Trainer

stepped = Trainer._optimizer_step
if mode == "sigterm-on-rank1" and rank == "1":
    def signalled(self):
        stepped(self)
        if self.step_in_epoch == 0:  # the first step (the count goes up after it)
            os.kill(os.getpid(), signal.SIGTERM)

    Trainer._optimizer_step = signalled
if mode == "rank1-dies-at-the-end" and rank == "1":
    import cnnlab.train.distributed as distributed

    def dying():
        os.kill(os.getpid(), signal.SIGKILL)

    distributed.end_distributed = dying
sys.argv = ["cnnlab", "train", "lenet_modern", "--data", "synthetic", "--train-subset", "256",
            "--eval-subset", "64", "--epochs", "1", "--batch-size", "32", "--device", "cpu",
            "--out-dir", out, "--run-name", "run", "--log-every", "2", "--quiet"]
""" + MAIN_WITH_STATUS
