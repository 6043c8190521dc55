"""A torchrun process lost as the job starts, or as its processes finish together, is said
in one line that names what happened and the command to give next."""

import pytest
import torch
from ddp_helpers import MAIN_WITH_STATUS, RANK_SCRIPT_HEAD, launch_two_ranks, rank_script

import cnnlab.train.distributed as distributed
from cnnlab.train.distributed import RankLost, data_parallel, end_distributed, init_distributed

GLOO_LOST = ("[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:561] "
             "Connection closed by peer [127.0.0.1]:64705. This is typically caused by a "
             "remote worker crashing.")


def _one_node(monkeypatch):
    for name in ("LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)  # the command's one-node form


def test_a_rank_lost_at_the_end_names_the_run_folder_to_resume(tmp_path, monkeypatch):
    # It said "resume RUN (RUN: the run's folder)": not a command a user could paste.
    _one_node(monkeypatch)
    monkeypatch.setattr(distributed, "_run_folder", None)  # put back after the test
    run = tmp_path / "my run"
    init_distributed("cpu", run)  # as the Trainer does; no torchrun here: joins nothing
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 2)

    def barrier():
        raise RuntimeError(GLOO_LOST)

    monkeypatch.setattr(distributed.dist, "barrier", barrier)
    with pytest.raises(RankLost) as lost:
        end_distributed()
    said = str(lost.value)
    assert said.endswith(f"from: torchrun --nproc_per_node=2 -m cnnlab resume '{run}'")
    assert "RUN" not in said
    init_distributed("cpu")  # a run that writes nothing: no folder to name
    with pytest.raises(RankLost, match=r"resume RUN \(RUN: the run's folder\)$"):
        end_distributed()


def test_a_rank_lost_as_ddp_starts_is_rank_lost_and_other_errors_pass(monkeypatch):
    def lost(*args, **kwargs):
        raise RuntimeError(GLOO_LOST)

    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", lost)
    with pytest.raises(RankLost, match=r"as the job started, before any training "
                                       r"\(Connection closed by peer \[127.0.0.1\]:64705\)"):
        data_parallel(torch.nn.Linear(2, 2), torch.device("cpu"))

    def other(*args, **kwargs):
        raise RuntimeError("DDP does not support a module without parameters")

    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", other)
    with pytest.raises(RuntimeError, match="without parameters"):
        data_parallel(torch.nn.Linear(2, 2), torch.device("cpu"))


@pytest.mark.slow
def test_a_rank_killed_as_the_job_starts_is_one_line_on_the_other(tmp_path):
    # Rank 1 dies (SIGKILL) as DDP checks the ranks' parameters, the job's first
    # collective with it: rank 0 ended with gloo's RuntimeError traceback.
    script = rank_script(tmp_path, "ddp_lost_at_start.py", SCRIPT)
    # --monitor-interval 15: torchrun stops rank 0 only after it has said its error. Rank 0
    # reaches DDP later than rank 1 (it makes the run folder and TensorBoard's writer
    # first): at 5 s a CI busy with the suite's other process had torchrun stop it first.
    code, stderr = launch_two_ranks(tmp_path, "--monitor-interval", "15", str(script),
                                    str(tmp_path))
    assert code != 0
    assert (tmp_path / "exit0.txt").read_text(encoding="utf-8") == "1", stderr[-3000:]
    assert "[rank0]: Traceback" not in stderr and "RuntimeError" not in stderr, stderr[-3000:]
    said = " ".join(stderr.split())
    assert said.count("error: another process of this torchrun job ended") == 1, said[-3000:]
    assert "as the job started, before any training" in said
    assert "nothing is lost: once that process can run, give the same torchrun command " \
           "again" in said


SCRIPT = RANK_SCRIPT_HEAD + r"""

import torch
from cnnlab.cli import main

if rank == "1":
    def dying(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    torch.nn.parallel.DistributedDataParallel = dying
sys.argv = ["cnnlab", "train", "lenet_modern", "--data", "synthetic", "--train-subset", "64",
            "--eval-subset", "16", "--epochs", "1", "--batch-size", "32", "--device", "cpu",
            "--out-dir", out, "--run-name", "run", "--quiet"]
""" + MAIN_WITH_STATUS
