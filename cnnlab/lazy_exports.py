"""Names a package exports, imported on first use (PEP 562) rather than with the package.

``import cnnlab`` and ``import cnnlab.train`` would otherwise load torch (a second or
more), and the command line imports both before it even parses ``--help``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable


def lazy_exports(namespace: dict, exports: dict[str, str],
                 modules: tuple[str, ...] = ()) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` for a package whose ``exports`` map each public
    name to the module defining it; ``namespace`` is the package's ``globals()``.

    ``modules``: the package's public submodules, which ``dir`` (and so a notebook's tab
    completion) lists before any is imported, as ``__getattr__`` reaches them. Python binds
    a submodule to its package only once something imports it, so without the list
    ``dir(cnnlab)`` offered ``ops`` or ``train`` only after some import had loaded them.
    """

    package = namespace["__name__"]

    def __getattr__(name: str):
        if name not in exports:
            # A subpackage, as `import cnnlab; cnnlab.ops.conv2d` expects in a notebook
            # (Python itself binds it only once something imports it).
            if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}"):
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports, *modules})

    return __getattr__, __dir__
