"""scripts/gpu-bench.sh, run dry: every part's bash, with a stand-in Python and nvidia-smi.

The script runs unattended in a device session of 15 minutes that nobody can rerun
cheaply, on a machine this suite never sees. Its flags are checked against the CLI in
test_speedrun.py; here its control flow is: each part runs every step to the end, calls
only `python -m cnnlab ...` and packs its results, without a bash error (an unset
variable under `set -u`, a typo'd function) that would lose the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "gpu-bench.sh"

pytestmark = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("timeout")
                                     and shutil.which("tar")),
                                reason="needs bash, timeout and tar")

# Records its arguments, one call a line, and writes what a command's --out names, so
# the packing has results to pack.
STAND_IN_PYTHON = """#!/usr/bin/env bash
if [[ "$1" == "-c" ]]; then echo "torch (stand-in)"; exit 0; fi
echo "$*" >> "$CALLS"
while [[ $# -gt 0 ]]; do
    if [[ "$1" == "--out" ]]; then mkdir -p "$(dirname "$2")"; echo '{}' > "$2"; fi
    shift
done
"""


@pytest.mark.parametrize("part", ["A", "B", "C", "D", "Z"])
def test_each_part_runs_every_step_and_packs_its_results(part, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("python", STAND_IN_PYTHON), ("nvidia-smi", "#!/bin/sh\necho H100\n")):
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    calls, out, work = tmp_path / "calls.txt", tmp_path / "out", tmp_path / "work"
    data = tmp_path / ".data" / "fashion-mnist"  # the script checks the files are there
    data.mkdir(parents=True)
    for name in ("train-images", "train-labels", "t10k-images", "t10k-labels"):
        (data / f"{name}-idx{3 if 'images' in name else 1}-ubyte.gz").touch()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PY": str(bin_dir / "python"), "OUT": str(out), "WORK": str(work),
           "CALLS": str(calls)}
    done = subprocess.run(["bash", str(SCRIPT), part, "120"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    for bash_error in ("unbound variable", "command not found", "syntax error",
                       "No such file"):
        assert bash_error not in log, log
    assert "=== done" in log and (out / f"gpu-bench-{part}.log").is_file()
    made = calls.read_text(encoding="utf-8").splitlines()
    # cnnlab's commands, and in part A the goal's summary read from stdin (share_of_peak)
    assert made and all(line.startswith(("-m cnnlab ", "- ")) for line in made), made
    assert any(line.startswith("- ") for line in made) == (part == "A"), made
    with tarfile.open(out / f"results-{part}.tar.gz") as packed:
        assert any(name.endswith(".json") or name.endswith(".log")
                   for name in packed.getnames()), packed.getnames()
