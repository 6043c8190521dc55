"""scripts/gpu-bench.sh against the current CLI: every command it runs parses, values too.

The script runs unattended in a rare 15-minute device session. test_speedrun_recipe.py
checks that each --flag it passes exists; here each whole command line, its variables
expanded, goes through the command's own parser (types, ranges, choices, callbacks), both
as the GPU runs it and with the dry run's tiny settings appended. And the script stops
before any step when the data is not there (each step would try to download it on a
machine with no network).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "gpu-bench.sh"
# The loop variables and parameters of the script's functions, as one pass sets them.
SHELL_VALUES = {"WORK": "/tmp/work", "preset": "book", "group": "lenet_d2l,lenet_bn",
                "model": "alexnet_d2l", "1": "100", "{model_size##*:}": "224",
                "{group%%,*}": "lenet_d2l"}


def script_commands(tiny: bool) -> list[tuple[list[str], list[str]]]:
    """(command path, arguments) of each `$PY -m cnnlab ...` in the script."""
    text = SCRIPT.read_text(encoding="utf-8")
    variables = dict(re.findall(r'local (\w+)="([^"]*)"', text))
    dry = text.split("CNNLAB_GPU_DRYRUN:-} ]]; then", 1)[1].split("\nfi\n", 1)[0]
    variables.update(re.findall(r'(TINY_\w+)="([^"]*)"', dry) if tiny else
                     {name: "" for name in re.findall(r"\$(TINY_\w+)", text)}.items())
    variables.update(SHELL_VALUES)
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        match = re.search(r"\$PY -m cnnlab (.*)", line)
        if not match or line.lstrip().startswith("#"):
            continue
        words = re.split(r"\s(?:>>?|&|#)\s", match.group(1) + " ", maxsplit=1)[0]
        for _ in range(3):  # variables may hold variables
            words = re.sub(r"\$(\{[^}]*\}|\w+)", lambda m: variables[m.group(1)], words)
        args = shlex.split(words)
        path = args[:2] if args[0] == "bench" else args[:1]
        commands.append((path, args[len(path):]))
    return commands


@pytest.mark.parametrize("tiny", [False, True], ids=["gpu", "dry-run"])
def test_every_command_of_the_gpu_script_parses_with_the_current_cli(tiny):
    import typer

    from cnnlab.cli import app

    root = typer.main.get_command(app)
    commands = script_commands(tiny)
    assert len(commands) >= 15
    kinds = set()
    for path, args in commands:
        command = root
        for name in path:
            command = command.commands[name]
        # Raises click's UsageError / BadParameter for a renamed flag or a bad value.
        context = command.make_context(" ".join(path), list(args))
        kinds.add(" ".join(path))
        if tiny:  # the dry run's settings won: it runs on the CPU
            assert context.params["device"] == "cpu", (path, args)
    assert kinds == {"speedrun", "train", "bench throughput", "bench zoo"}


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_gpu_script_stops_before_any_step_without_the_data(tmp_path):
    calls = tmp_path / "calls.txt"
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n', encoding="utf-8")
    python.chmod(0o755)
    env = {**os.environ, "PY": str(python), "OUT": str(tmp_path / "out"),
           "WORK": str(tmp_path / "work"), "CNNLAB_DATA": str(tmp_path / "empty")}
    done = subprocess.run(["bash", str(SCRIPT), "D", "60"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Fashion-MNIST is not in" in done.stdout and "carry .data" in done.stdout
    assert not calls.exists(), calls.read_text(encoding="utf-8")  # no cnnlab step ran


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_a_step_started_at_the_budgets_end_still_gets_a_limit_of_a_second():
    # `timeout -k 20 -5` is an invalid option (the step never ran) and `timeout 0` no
    # limit at all: a dry run's step began within 35 s of the end got one or the other.
    limit = SCRIPT.read_text(encoding="utf-8").split("\nlimit() {", 1)[1].split("\n}\n")[0]
    for dry in ("", "1"):
        probe = f"limit() {{{limit}\n}}\nEND=$((SECONDS + 30)); limit 60; limit 100000"
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                              env={**os.environ, "CNNLAB_GPU_DRYRUN": dry}, timeout=30)
        assert done.stdout.split() == ["1", "1"], (dry, done.stdout, done.stderr)
