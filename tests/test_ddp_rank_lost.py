"""A torchrun process that dies mid-run (kill -9, out of memory) ends the run with a message
that says so and how to go on, not gloo's traceback."""


import pytest
from ddp_helpers import launch_two_ranks, rank_script


def test_a_collective_broken_by_a_dead_rank_is_told_from_other_errors():
    import torch.distributed as dist

    from cnnlab.train.distributed import lost_a_rank

    gloo = RuntimeError("[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545]"
                        " Read error [127.0.0.1]:29593: Connection reset by peer.")
    assert lost_a_rank(gloo)
    assert lost_a_rank(dist.DistBackendError("NCCL communicator was aborted"))
    assert not lost_a_rank(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


@pytest.mark.slow
def test_a_rank_killed_mid_epoch_leaves_a_resumable_run_and_says_so(tmp_path):
    # Rank 1 kills itself (SIGKILL) in epoch 2, after epoch 1's checkpoint. Rank 0 met
    # gloo's "Connection reset by peer" in its next all-reduce and ended with that
    # RuntimeError's traceback, which said nothing of the run or its checkpoint.
    script = rank_script(tmp_path, "ddp_rank_lost.py", SCRIPT)
    # --monitor-interval 5: torchrun's SIGTERM to rank 0, once it sees rank 1 gone, comes
    # after rank 0 has said its error (at 0.1 s it may cut the line off, as for any error).
    code, stderr = launch_two_ranks(tmp_path, "--monitor-interval", "5", str(script),
                                    str(tmp_path))
    assert code != 0
    run = tmp_path / "lost"
    said = (tmp_path / "exit0.txt").read_text(encoding="utf-8")
    assert said == "1", stderr[-3000:]
    assert "[rank0]: Traceback" not in stderr and "RuntimeError" not in stderr, stderr[-3000:]
    assert stderr.count("error: another process of this torchrun job") == 1, stderr[-3000:]
    assert f"Resume with: torchrun --nproc_per_node=2 -m cnnlab resume {run}" in stderr
    assert (run / "checkpoints" / "last.safetensors").is_file()


SCRIPT = r"""
import os
import signal
import sys

out = sys.argv[1]
rank = os.environ["RANK"]
with open(f"{out}/pid{rank}.txt", "w", encoding="utf-8") as fh:
    fh.write(str(os.getpid()))

from cnnlab.cli import main
from cnnlab.train.trainer import Trainer

if rank == "1":
    stepped = Trainer._optimizer_step

    def dying(self):
        if self.epoch == 1 and self.step_in_epoch == 1:  # epoch 2's second step
            os.kill(os.getpid(), signal.SIGKILL)
        stepped(self)

    Trainer._optimizer_step = dying
sys.argv = ["cnnlab", "train", "lenet_modern", "--data", "synthetic", "--epochs", "2",
            "--batch-size", "32", "--device", "cpu", "--out-dir", out, "--run-name", "lost",
            "--log-every", "2", "--quiet"]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
with open(f"{out}/exit{rank}.txt", "w", encoding="utf-8") as fh:
    fh.write(str(code))
"""
