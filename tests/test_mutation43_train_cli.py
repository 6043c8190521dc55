"""What `cnnlab train`, `resume` and `eval` print, pinned where hand-made mutants of the
commands went unnoticed (session 41, mutation43)."""

from __future__ import annotations

from typer.testing import CliRunner

from cnnlab.cli import app


def test_eval_under_torchrun_prints_a_run_path_with_a_space_quoted(tmp_path, monkeypatch):
    # The command to run instead is pasted as printed: unquoted, "my runs/demo" is two
    # arguments. Refused before the run is read, so no run is needed.
    monkeypatch.setenv("WORLD_SIZE", "2")
    run = tmp_path / "my runs" / "demo"
    result = CliRunner().invoke(app, ["eval", str(run)])
    assert result.exit_code == 2
    assert f"Run it without torchrun: cnnlab eval '{run}'" in " ".join(result.stderr.split())
