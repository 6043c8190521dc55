"""Optional dependencies: importing one, or saying which cnnlab extra installs it.

timm (``tv:``/``timm:`` models), onnx and onnxruntime (export) are not installed with
cnnlab itself; the code that needs one asks for it here, so every such error gives the
same ``pip install 'cnnlab[EXTRA]'`` line.
"""

from __future__ import annotations

import importlib


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


def require_extra(module: str, extra: str, purpose: str):
    """Import ``module``, or say which cnnlab extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the optional package {module!r}: pip install 'cnnlab[{extra}]'"
        ) from exc
