"""``import cnnlab`` in a notebook: what ``dir`` and tab completion offer, before anything
else is imported (a fresh interpreter), and that offering it loads nothing heavy."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cnnlab

SUBPACKAGES = ["bench", "data", "design", "export", "inspect", "models", "ops", "train"]


def fresh_python(code: str) -> str:
    """stdout of ``code`` run by a new interpreter on this checkout's cnnlab."""
    source = str(Path(cnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_dir_lists_the_subpackages_a_notebook_reaches_before_any_is_imported():
    # `cnnlab.ops.conv2d` works after `import cnnlab` alone; dir(cnnlab), which tab
    # completion reads, listed only the re-exported names until a subpackage was imported.
    shown = json.loads(fresh_python(
        "import json, sys, cnnlab; names = dir(cnnlab); "
        "print(json.dumps([names, 'torch' in sys.modules]))"))
    names, torch_loaded = shown
    assert set(SUBPACKAGES) <= set(names)
    assert set(cnnlab.__all__) <= set(names)
    assert not torch_loaded


def test_each_name_dir_lists_is_an_export_or_a_module_there_is():
    for name in dir(cnnlab):
        if not name.startswith("_") and name not in cnnlab.__all__:
            importlib.import_module(f"cnnlab.{name}")  # a misspelt module fails here


def test_every_name_the_package_docstring_lists_is_where_it_says():
    # help(cnnlab) is a notebook's map of the library: "- ``cnnlab.train``: train, ...".
    listed = re.findall(r"^- ``(cnnlab\.\w+)``: (.+?)(?=^- |^$)", cnnlab.__doc__, re.M | re.S)
    assert len(listed) >= 7
    for module, names in listed:
        for name in re.sub(r"\(.*?\)", "", names).replace("\n", " ").split(","):
            assert hasattr(importlib.import_module(module), name.strip()), (module, name)
