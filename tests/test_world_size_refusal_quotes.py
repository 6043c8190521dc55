"""A resume refused for its process count names the command with the run's folder
quoted, from a script too (a folder with a space was pasted as two arguments)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnlab.train import resume_checks
from cnnlab.train.config import ConfigError


def test_the_refusal_from_python_quotes_a_folder_with_a_space(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["my_script.py"])
    monkeypatch.setattr(resume_checks, "launched_world_size", lambda: 2)
    run = Path("runs/my run")
    with pytest.raises(ConfigError) as refused:
        resume_checks.check_world_size(SimpleNamespace(batch_size=32), {"world_size": 1}, run)
    assert str(refused.value).endswith(f"cnnlab resume '{run}'"), str(refused.value)
