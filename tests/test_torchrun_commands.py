"""The torchrun commands cnnlab writes (a run's recorded command, "Resume with: ...") are
ones that launch the job as it was laid out."""

from __future__ import annotations

import sys

import pytest

from cnnlab.train.distributed import launch_command
from cnnlab.train.machine import command_line


def _torchrun_job(monkeypatch, world: int, per_node: int, nodes: int | None = None) -> None:
    """This process as torchrun's worker in a job of ``world`` processes, ``per_node`` on
    each node (the variables torchrun's agent sets; GROUP_WORLD_SIZE where ``nodes``)."""
    monkeypatch.setenv("WORLD_SIZE", str(world))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(per_node))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    if nodes is None:
        monkeypatch.delenv("GROUP_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("GROUP_WORLD_SIZE", str(nodes))


@pytest.mark.parametrize("nodes", [2, None], ids=["group-world-size", "derived"])
def test_a_job_of_two_nodes_is_recorded_and_resumed_as_two_nodes(monkeypatch, nodes):
    # 8 processes, 4 on each of 2 nodes: `--nproc_per_node=8` asked each node for 8, and
    # without a rendezvous endpoint to fill in, each node waited alone.
    _torchrun_job(monkeypatch, world=8, per_node=4, nodes=nodes)
    assert launch_command("resume runs/r", 8) == (
        "torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d "
        "--rdzv-endpoint=HOST:PORT -m cnnlab resume runs/r")
    import cnnlab.__main__

    # as `python -m cnnlab` (torchrun's -m) starts it: argv[0] is the module's file
    monkeypatch.setattr(sys, "argv", [cnnlab.__main__.__file__, "train", "resnet18",
                                      "--epochs", "2"])
    assert command_line() == ("torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d "
                              "--rdzv-endpoint=HOST:PORT -m cnnlab train resnet18 --epochs 2")


def test_one_node_and_other_counts_keep_the_plain_form(monkeypatch):
    def resume_on(processes: int) -> str:
        return launch_command("resume runs/r", processes)

    _torchrun_job(monkeypatch, world=2, per_node=2)
    assert resume_on(2) == "torchrun --nproc_per_node=2 -m cnnlab resume runs/r"
    # A count that is not this job's (a run trained on 4, refused on these 2): its layout
    # is not known; one node.
    assert resume_on(4) == "torchrun --nproc_per_node=4 -m cnnlab resume runs/r"
    assert resume_on(1) == "cnnlab resume runs/r"
    _torchrun_job(monkeypatch, world=6, per_node=4, nodes=2)  # not laid out alike: unknown
    assert resume_on(6) == "torchrun --nproc_per_node=6 -m cnnlab resume runs/r"
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "four")
    assert resume_on(6) == "torchrun --nproc_per_node=6 -m cnnlab resume runs/r"


def test_a_refused_process_count_gives_the_command_with_the_options_typed(tmp_path,
                                                                         monkeypatch):
    # A 1-process run resumed under torchrun with --max-time 0: the advice dropped the
    # option, and, run as said, that resume was refused next for its spent budget.
    from typer.testing import CliRunner

    from cnnlab.cli import app
    from cnnlab.train import resume_checks

    train = ["train", "lenet_modern", "--data", "synthetic", "--train-subset", "128",
             "--eval-subset", "32", "--batch-size", "32", "--device", "cpu", "--quiet",
             "--epochs", "2", "--max-time", "0.001", "--out-dir", str(tmp_path),
             "--run-name", "h"]
    assert CliRunner().invoke(app, train).exit_code == 0
    run = tmp_path / "h"
    typed = ["resume", str(run), "--max-time", "0"]
    monkeypatch.setattr(sys, "argv", ["/usr/bin/cnnlab", *typed])
    monkeypatch.setattr(resume_checks, "launched_world_size", lambda: 2)  # under torchrun
    result = CliRunner().invoke(app, typed)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert said.endswith(f"Resume it as it was trained: cnnlab resume {run} --max-time 0"), said


def test_the_options_are_kept_only_for_the_cnnlab_command_that_was_refused(monkeypatch):
    from cnnlab.train.distributed import relaunch_command

    typed = ["resume", "runs/my run", "--max-time", "0"]
    monkeypatch.setattr(sys, "argv", ["/usr/bin/cnnlab", *typed])
    assert relaunch_command("resume runs/h", 2) == (
        "torchrun --nproc_per_node=2 -m cnnlab resume 'runs/my run' --max-time 0")
    monkeypatch.setattr(sys, "argv", ["my_script.py", *typed])  # resume() from Python
    assert relaunch_command("resume runs/h", 1) == "cnnlab resume runs/h"
    monkeypatch.setattr(sys, "argv", ["/usr/bin/cnnlab", "bench", "zoo"])  # its own resumes
    assert relaunch_command("resume runs/h", 1) == "cnnlab resume runs/h"
