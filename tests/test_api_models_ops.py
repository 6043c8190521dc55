"""README's from-scratch snippet runs as written, in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_from_scratch_snippet_runs_as_written(tmp_path):
    section = README.read_text(encoding="utf-8").split("### From-scratch primitives", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "get_model(" in snippet
    # A fresh process, outside the repository: nothing imported by the tests helps it.
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
