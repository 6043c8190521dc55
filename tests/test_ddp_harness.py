"""The torchrun harness of the distributed tests (ddp_helpers): a rank that outlives its
launch is killed, not waited for."""

import os

import pytest


def test_a_rank_left_running_is_killed_not_waited_for(tmp_path):
    # A rank hung in gloo outlived torchrun holding its output pipes: the suite waited
    # forever. Now the harness kills it by the pid it wrote, if that pid is its script's.
    import subprocess
    import sys

    from ddp_helpers import _kill_leftover_ranks

    if not os.path.exists("/proc/self/cmdline"):
        pytest.skip("no /proc to tell a rank's pid from a reused one")
    hung = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); "
                             "time.sleep(600)", str(tmp_path)], stdout=subprocess.PIPE)
    hung.stdout.readline()  # running its own command line, not still the forked pytest's
    (tmp_path / "pid0.txt").write_text(str(hung.pid))
    (tmp_path / "pid1.txt").write_text(str(os.getpid()))  # a pid reused by another process
    assert _kill_leftover_ranks(tmp_path) == [0]
    assert hung.wait(timeout=10) == -9
    hung.stdout.close()
