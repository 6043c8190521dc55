"""The public API as type checkers and IDEs see it (pyright, Pylance, mypy).

``cnnlab`` and ``cnnlab.train`` export their names lazily, through a module
``__getattr__`` that no checker follows: every name imported from them was Any, so
nothing a user wrote with them was checked or completed. Each package's
``if TYPE_CHECKING:`` block says what those names are; these tests keep it in step with
what the package exports at run time, without running a type checker (mypy takes ~40 s
on a script that imports torch).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import cnnlab
import cnnlab.train

ROOT = Path(cnnlab.__file__).resolve().parent


def type_checking_imports(package) -> dict[str, str]:
    """name -> module for each ``from module import name as name`` in the package's
    ``if TYPE_CHECKING:`` blocks. An import without ``as name`` counts as none: mypy
    --strict takes only that form as a re-export."""
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    if alias.asname == alias.name:
                        found[alias.name] = statement.module
    return found


@pytest.mark.parametrize("package", [cnnlab, cnnlab.train], ids=lambda p: p.__name__)
def test_type_checkers_are_told_every_lazy_export_and_where_it_comes_from(package):
    # A name added to _EXPORTS and not here would be Any again for every user.
    declared = type_checking_imports(package)
    modules = getattr(package, "_MODULES", ())
    expected = {**package._EXPORTS, **{name: package.__name__ for name in modules}}
    assert declared == expected
    for name, module in declared.items():
        # What the checker is told is the object the package gives at run time.
        assert getattr(importlib.import_module(module), name) is getattr(package, name)


def test_the_package_is_marked_typed():
    # Without py.typed, mypy skips an installed cnnlab ("module is installed, but
    # missing library stubs or py.typed marker") and every type is Any.
    assert (ROOT / "py.typed").is_file()
