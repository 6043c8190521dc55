"""Names a package exports, imported on first use (PEP 562) rather than with the package.

``import cnnlab`` and ``import cnnlab.train`` would otherwise load torch (a second or
more), and the command line imports both before it even parses ``--help``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(namespace: dict, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` for a package whose ``exports`` map each public
    name to the module defining it; ``namespace`` is the package's ``globals()``."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
