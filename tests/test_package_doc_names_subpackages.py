"""The package docstring (help(cnnlab), a notebook's map of the library) names every
subpackage: ``cnnlab.bench``, behind ``cnnlab bench`` and ``cnnlab speedrun``, was left
out of it."""

from __future__ import annotations

from pathlib import Path

import cnnlab


def test_the_package_docstring_names_every_subpackage():
    root = Path(cnnlab.__file__).parent
    subpackages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    unnamed = {name for name in subpackages if f"cnnlab.{name}" not in cnnlab.__doc__}
    assert not unnamed, unnamed
