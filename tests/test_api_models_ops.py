"""README's from-scratch snippet runs as written, in a fresh interpreter; the ops called
in the book's forms say what to give."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab.ops import conv2d, corr2d

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_from_scratch_snippet_runs_as_written(tmp_path):
    section = README.read_text(encoding="utf-8").split("### From-scratch primitives", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "get_model(" in snippet
    # A fresh process, outside the repository: nothing imported by the tests helps it.
    # The checkout's cnnlab, not the installed one (in a worktree, another checkout's).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(README.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr


def test_conv2d_on_the_books_2d_tensors_says_what_to_give():
    X, K = torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    # It said "conv2d input must be (N, C, H, W) or (C, H, W), got (3, 3)", and no more.
    with pytest.raises(ValueError, match=r"got \(3, 3\); for the book's 2-D X and K, "
                                         r"corr2d\(X, K\), or conv2d\(X\[None, None\], "
                                         r"K\[None, None\]\)"):
        conv2d(X, K)
    assert torch.equal(conv2d(X[None, None], K[None, None])[0, 0], corr2d(X, K))
