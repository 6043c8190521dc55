"""Launching two CPU ranks with torchrun for the distributed tests, and stopping them.

Output goes to files, not pipes: torchrun starts each rank in a session of its own, and a
rank hung in gloo (seen with torch 2.4, under load: in end_distributed's barrier after the
other rank had passed it) outlived torchrun holding the pipes, so reading them waited
forever and the suite with it. A rank of a test script writes its pid (``pid<rank>.txt``),
so one left running is killed here and the test fails instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

LAUNCH_TIMEOUT_S = 300

# The start of a rank script run as ``SCRIPT OUT`` (``out`` and ``rank`` set): its pid in
# ``pid<rank>.txt``, for _kill_leftover_ranks to stop a rank that outlives torchrun.
RANK_SCRIPT_HEAD = """
import os
import signal
import sys

out = sys.argv[1]
rank = os.environ["RANK"]
with open(f"{out}/pid{rank}.txt", "w", encoding="utf-8") as fh:
    fh.write(str(os.getpid()))
"""

# The end of a rank script that runs the CLI (``main`` imported, ``out`` and ``rank`` set):
# each rank's exit status in ``exit<rank>.txt`` (torchrun's own says only that one failed).
MAIN_WITH_STATUS = """
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
with open(f"{out}/exit{rank}.txt", "w", encoding="utf-8") as fh:
    fh.write(str(code))
"""


def repo_env() -> dict:
    """The environment, with this checkout's cnnlab first on the path (a script run from
    tmp_path must not import whichever one is installed)."""
    repo = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [repo, *filter(None, [os.environ.get("PYTHONPATH")])])}


def rank_script(tmp_path: Path, name: str, text: str) -> Path:
    """``text`` written to ``tmp_path/name`` for two ranks to run; the test skipped where
    this torch has no launcher (``launch_two_ranks`` runs ``torch.distributed.run``)."""
    import pytest

    pytest.importorskip("torch.distributed.run")
    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    return script


def launch_two_ranks(tmp_path: Path, *torchrun_args: str) -> tuple[int, str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node=2 ARGS``: its exit
    code and stderr. Past LAUNCH_TIMEOUT_S, or with a rank outliving it, a failed test."""
    log = tmp_path / "torchrun-stderr.txt"
    with open(log, "w", encoding="utf-8") as err, \
            open(os.devnull, "w", encoding="utf-8") as null:
        proc = subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             "--nproc_per_node=2", *torchrun_args],
            stdout=null, stderr=err, env=repo_env(), start_new_session=True)
        try:
            proc.wait(timeout=LAUNCH_TIMEOUT_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
    stderr = log.read_text(encoding="utf-8", errors="replace")
    outlived = _kill_leftover_ranks(tmp_path)
    assert not timed_out, f"torchrun ran past {LAUNCH_TIMEOUT_S} s (killed):\n{stderr[-3000:]}"
    assert not outlived, f"rank(s) {outlived} outlived torchrun (killed):\n{stderr[-3000:]}"
    return proc.returncode, stderr


def _kill_leftover_ranks(tmp_path: Path) -> list[int]:
    """The ranks of a script in ``tmp_path`` still running, killed by the pids they wrote
    (each checked to be that script's process: a pid may have been reused since)."""
    outlived = []
    for rank in (0, 1):
        try:
            pid = int((tmp_path / f"pid{rank}.txt").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):  # none written, exited, or no /proc to ask
            continue
        if str(tmp_path).encode() in cmdline:
            os.kill(pid, signal.SIGKILL)
            outlived.append(rank)
    return outlived
