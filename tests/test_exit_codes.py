"""Every command exits with the same status for the same kind of trouble (see
cnnlab/cli/messages.py): 2 for a request invalid as given, 1 for a valid one that could
not be done. Train said 1 and design 2 for the same mistyped name."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("args", [
    ["train", "lenet_d3l", "--data", "synthetic", "--device", "cpu"],
    ["summary", "lenet_d3l"],
    ["speedrun", "--model", "lenet_d3l", "--device", "cpu"],
    ["bench", "throughput", "--models", "lenet_d3l"],
    ["bench", "memory", "--model", "lenet_d3l"],
    ["design", "run", "--space", "anynetx_q", "--out", "unused"],
], ids=lambda args: " ".join(args[:2]))
def test_an_invalid_request_exits_2_everywhere(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["train", "lenet_d2l", "--device", "cpu", "--data-root"],
    ["speedrun", "--device", "cpu", "--data-root"],
    ["data", "info", "--no-download", "--data-root"],
    ["bench", "zoo", "--models", "lenet_d2l", "--device", "cpu", "--out", "z", "--data-root"],
], ids=lambda args: " ".join(args[:2]))
def test_missing_data_exits_1_everywhere(args, tmp_path, monkeypatch, data_env):
    monkeypatch.chdir(tmp_path)
    result = run(*args, str(tmp_path / "nowhere"))
    assert result.exit_code == 1, result.output
    assert "(given path): does not exist" in " ".join(result.output.split())


def test_every_warning_for_the_user_is_one_line_without_pythons_source_lines(tmp_path):
    # The model-size warning was a DataWarning by convenience; a SetupWarning now, and
    # the CLI prints every CnnlabWarning the same way.
    from cnnlab.data import DataWarning
    from cnnlab.notices import CnnlabWarning, FigureWarning, SetupWarning
    from cnnlab.train.run import CheckpointWarning
    from cnnlab.train.runlog import RunLogWarning

    for kind in (DataWarning, CheckpointWarning, RunLogWarning, SetupWarning, FigureWarning):
        assert issubclass(kind, CnnlabWarning) and issubclass(kind, UserWarning)
    result = run("train", "resnet18", "--data", "synthetic", "--device", "cpu", "--epochs",
                 "1", "--max-time", "0.01", "--eval-subset", "16", "--quiet",
                 "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "warning: resnet18 was designed for 224x224 inputs and sees 28x28 here" in words
    assert "model_setup.py" not in result.stderr and "SetupWarning" not in result.stderr


def test_a_full_disk_mid_run_is_one_line_naming_the_file_not_a_traceback(tmp_path,
                                                                         monkeypatch):
    # The run's files stay as its last checkpoint left them; the user needs the cause.
    import errno

    import cnnlab.train.checkpoint as ckpt

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ckpt, "save_checkpoint", full)
    result = run("train", "lenet_modern", "--data", "synthetic", "--device", "cpu",
                 "--epochs", "1", "--quiet", "--out-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert "no space left on device" in words.lower() and "best.safetensors" in words
    assert "Traceback" not in result.output


def test_under_torchrun_rank_0_alone_gives_the_warnings_and_other_ranks_name_themselves(
        monkeypatch, capsys):
    # Every torchrun process reads the same request and data: their warnings (a folder's
    # unreadable images, say) had printed once per process. An error that ends another
    # rank, which rank 0 may not meet, is said after a pause, naming the rank.
    import typer

    from cnnlab.cli import messages
    from cnnlab.data import DataWarning

    monkeypatch.setattr(messages, "OTHER_RANKS_PAUSE_S", 0.0)
    monkeypatch.setenv("WORLD_SIZE", "2")  # a torchrun launch
    for rank, shown in (("0", True), ("1", False)):
        monkeypatch.setenv("RANK", rank)
        messages.show_warning(DataWarning("skipped 1 unreadable image(s)"), DataWarning,
                              "folder.py", 1)
        assert ("warning: skipped 1" in capsys.readouterr().err) == shown
    with pytest.raises(typer.Exit):
        messages.fail("CUDA out of memory")
    assert "error: rank 1: CUDA out of memory" in capsys.readouterr().err


def test_a_lost_process_is_said_at_once_on_every_rank(monkeypatch, capsys):
    # Rank 0 killed: the survivor paused before speaking, and torchrun stopped it in the
    # pause, so nothing said the run was resumable.
    import typer

    from cnnlab.cli import messages
    from cnnlab.train.distributed import RankLost

    pauses = []
    monkeypatch.setattr(messages.time, "sleep", pauses.append)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(typer.Exit):
        messages.fail_for(RankLost("another process of this torchrun job ended"))
    assert pauses == []
    assert "error: rank 1: another process of this torchrun job ended" in capsys.readouterr().err
    with pytest.raises(typer.Exit):
        messages.fail_for(OSError("No space left on device"))
    assert pauses == [messages.OTHER_RANKS_PAUSE_S]  # other errors still wait for rank 0
