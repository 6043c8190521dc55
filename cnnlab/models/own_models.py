"""Networks of the user's own, registered beside cnnlab's.

A builder defined in a user's script or package is registered as cnnlab's are
(``@register_model(...)``), after which ``get_model``, ``summary``, ``train``,
``resume``, ``evaluate_run`` and ``export_run`` take its name. A new process (the
``cnnlab`` command, or a notebook opened again) knows only the names of the modules it
imported: ``$CNNLAB_MODELS`` names the modules that register them (module names, or
``.py`` files, separated as in ``$PATH``), imported when the registry is first used, so
``CNNLAB_MODELS=my_nets.py cnnlab resume runs/RUN`` finds ``my_net`` again.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

from cnnlab.notices import SetupWarning, warn_user

ENV = "CNNLAB_MODELS"
# What an unknown name's error adds: the registry knows only what was imported.
HINT = (f"one of your own: @register_model (cnnlab.models), and ${ENV}=FILE.py for a new "
        "process or the cnnlab command")


def check_builder(fn: Callable[..., nn.Module], name: str) -> None:
    """Refuse a builder ``get_model`` could not call: it is called as
    ``fn(num_classes=..., in_channels=..., **overrides)``, the data's classes and channels
    given, so a builder without those keywords fails only later, deep in training."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin or C-defined callable: take it on trust
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    missing = [k for k in ("num_classes", "in_channels")
               if k not in params or params[k].kind is inspect.Parameter.POSITIONAL_ONLY]
    if missing:
        raise TypeError(f"register_model: {name}'s builder must take the keyword(s) "
                        f"{' and '.join(missing)}: get_model calls it as {name}(num_classes"
                        "=..., in_channels=..., **overrides) with the data's class count and "
                        f"image channels; define it as def {name}(num_classes=10, "
                        "in_channels=1): and build the network for them")


def same_definition(old: Callable, new: Callable) -> bool:
    """Whether ``new`` is ``old`` defined again, which then replaces it rather than being
    refused as a second model of that name: the same module and qualified name (a
    notebook cell run again, edited or not, a script run twice in one session), or the
    same source file and qualified name (a file imported by name and also run as
    ``$CNNLAB_MODELS`` or as ``__main__``)."""
    def module_name(fn: Callable) -> tuple:
        return getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)

    def source_file(fn: Callable) -> tuple | None:
        code = getattr(fn, "__code__", None)
        if code is None or not os.path.isfile(code.co_filename):
            return None
        return os.path.realpath(code.co_filename), getattr(fn, "__qualname__", None)

    return module_name(old) == module_name(new) or (
        source_file(old) is not None and source_file(old) == source_file(new))


def import_own_models() -> None:
    """Import each module ``$CNNLAB_MODELS`` names, so that it registers its models: a
    dotted module name (found on ``sys.path`` or in the current folder) or a ``.py`` file.
    One that is not there is warned of and left out (a warning every command shows as
    one line): a name of its is then unknown, with what to do."""
    for entry in filter(None, (e.strip() for e in os.environ.get(ENV, "").split(os.pathsep))):
        if entry.endswith(".py") or os.sep in entry or "/" in entry:
            _import_file(Path(entry).expanduser())
        else:
            _import_module(entry)


def _import_file(path: Path) -> None:
    if not path.is_file():
        warn_user(f"${ENV} names {str(path)!r}, which is no file (from {Path.cwd()}): its "
                  "models are left out. Give the path of the .py file that registers them, "
                  "or a module name", SetupWarning)
        return
    name = f"cnnlab_own_models.{path.resolve().with_suffix('').as_posix().strip('/')}"
    if name in sys.modules or _loaded_already(path):
        return  # its models are registered: run again, a script's own code runs twice
    # As `python FILE.py` does: the modules beside it import as they do there.
    if str(path.resolve().parent) not in sys.path:
        sys.path.append(str(path.resolve().parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import does: the module may look itself up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def _loaded_already(path: Path) -> bool:
    """Whether a module of this process was loaded from ``path`` (``import my_nets`` in a
    script, or ``python my_nets.py``, its ``__main__``)."""
    target = os.path.realpath(path)
    return any(os.path.realpath(file) == target for module in list(sys.modules.values())
               if isinstance(file := getattr(module, "__file__", None), str))


def _import_module(name: str) -> None:
    if "" not in sys.path and os.getcwd() not in sys.path:
        # The `cnnlab` script runs from its bin folder: a module beside the user, as
        # `python -m cnnlab` finds it, is found there too.
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise  # the module itself imports something missing: its own traceback
        warn_user(f"${ENV} names the module {name!r}, which is not found (in {os.getcwd()} "
                  "nor on sys.path): its models are left out. Give a module name Python can "
                  "import, or the path of its .py file", SetupWarning)
