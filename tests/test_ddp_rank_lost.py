"""A torchrun process that dies mid-run (kill -9, out of memory) ends the run with a message
that says so and how to go on, not gloo's traceback."""


from types import SimpleNamespace

import pytest
from ddp_helpers import MAIN_WITH_STATUS, RANK_SCRIPT_HEAD, launch_two_ranks, rank_script

from cnnlab.train.distributed import RankLost
from cnnlab.train.resumable import Resumable


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
    script = rank_script(tmp_path, "ddp_rank_lost.py", SCRIPT.replace("DIE", IN_EPOCH_2))
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


SCRIPT = RANK_SCRIPT_HEAD + r"""

import cnnlab.train.trainer as trainer
from cnnlab.cli import main

if rank == "1":
    DIE
sys.argv = ["cnnlab", "train", "lenet_modern", "--data", "synthetic", "--epochs", "2",
            "--batch-size", "32", "--device", "cpu", "--out-dir", out, "--run-name", "lost",
            "--log-every", "2", "--quiet"]
""" + MAIN_WITH_STATUS

# What rank 1 patches in (SCRIPT's DIE) to kill itself: in epoch 2's second step, after
# epoch 1's checkpoint; or in epoch 1's last collective, before it.
IN_EPOCH_2 = """stepped = trainer.Trainer._optimizer_step

    def dying(self):
        if self.epoch == 1 and self.step_in_epoch == 1:  # epoch 2's second step
            os.kill(os.getpid(), signal.SIGKILL)
        stepped(self)

    trainer.Trainer._optimizer_step = dying"""
AS_EPOCH_1_ENDS = """def dying(dist):  # epoch 1 counted done; its checkpoint not yet written
        os.kill(os.getpid(), signal.SIGKILL)

    trainer.rank_rng_states = dying"""


class _Lost(Resumable):
    """The Trainer as a collective meets a lost rank: the attributes _rank_loss_said reads."""

    def __init__(self, run_dir, epoch=0, resumed_from=None):
        self.run_dir, self.epoch, self.step_in_epoch = run_dir, epoch, 0
        self.steps_per_epoch, self.resumed_from = 8, resumed_from
        self.dist = SimpleNamespace(enabled=True, world_size=2)
        self.cfg = SimpleNamespace(accum_steps=1)

    def said(self, at_epoch_end: bool) -> str:
        with pytest.raises(RankLost) as lost, self._rank_loss_said():
            if at_epoch_end:  # the epoch counted done, then rank_rng_states' all_gather
                self.epoch, self.step_in_epoch = self.epoch + 1, 0
            else:
                self.step_in_epoch = 5
            raise RuntimeError("[gloo/transport/tcp/pair.cc:545] Read error "
                               "[127.0.0.1]:29593: Connection reset by peer")
        return str(lost.value)


def test_a_rank_lost_as_the_first_epoch_ends_says_no_checkpoint_was_written(tmp_path,
                                                                             monkeypatch):
    # In the gap between epoch 1 counted done and its checkpoint, it said "Its last
    # checkpoint stays (.../last.safetensors)" of a file never written, "after step 0 of 8
    # in epoch 2", and gave a resume that fails for want of it.
    for name in ("LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)  # the command's one-node form
    said = _Lost(tmp_path).said(at_epoch_end=True)
    assert ("ended (killed, or failed: its own output says why) as epoch 1 ended, before "
            "its checkpoint, and the others cannot train without it") in said
    assert said.endswith("Epoch 1's checkpoint, the run's first, was not written: there is "
                         "no checkpoint to resume from; start the run again.")
    assert "stays" not in said and "Resume with" not in said
    # Mid-epoch 1: as before.
    said = _Lost(tmp_path).said(at_epoch_end=False)
    assert "after step 5 of 8 in epoch 1" in said
    assert said.endswith("No epoch had finished: no checkpoint was written; start the run "
                         "again.")
    # A later epoch's end, or a resumed run's first: the checkpoint before it stays.
    last = tmp_path / "checkpoints" / "last.safetensors"
    for lost in (_Lost(tmp_path, epoch=2), _Lost(tmp_path, resumed_from=last)):
        said = lost.said(at_epoch_end=True)
        assert (f"Epoch {lost.epoch}'s checkpoint was not written; the last one stays "
                f"({last}). Resume with: torchrun --nproc_per_node=2 -m cnnlab resume "
                f"{tmp_path}") in said
    said = _Lost(tmp_path, epoch=2).said(at_epoch_end=False)
    assert "after step 5 of 8 in epoch 3" in said
    assert f"Its last checkpoint stays ({last}). Resume with: " in said


@pytest.mark.slow
def test_a_rank_killed_as_epoch_1_ends_says_there_is_no_checkpoint(tmp_path):
    # Rank 1 dies in epoch 1's last collective (rank_rng_states), after the epoch was
    # counted done and before rank 0 writes the run's first checkpoint: rank 0 said "Its
    # last checkpoint stays" of a file that was never written.
    script = rank_script(tmp_path, "ddp_rank_lost_at_end.py",
                         SCRIPT.replace("DIE", AS_EPOCH_1_ENDS))
    code, stderr = launch_two_ranks(tmp_path, "--monitor-interval", "5", str(script),
                                    str(tmp_path))
    assert code != 0
    assert (tmp_path / "exit0.txt").read_text(encoding="utf-8") == "1", stderr[-3000:]
    words = " ".join(stderr.split())
    assert "as epoch 1 ended, before its checkpoint" in words, stderr[-3000:]
    assert ("Epoch 1's checkpoint, the run's first, was not written: there is no checkpoint "
            "to resume from; start the run again.") in words
    assert "stays" not in words
    assert not (tmp_path / "lost" / "checkpoints" / "last.safetensors").exists()
