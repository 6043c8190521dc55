"""What ``help()`` and an IDE show of the public API stays true, beyond the parameter
names test_api_docs checks:

- the classes a public function returns (or a public result holds) have a docstring of
  their own: a dataclass without one shows ``help()`` its generated signature, which says
  what the fields are called and nothing of what they hold (ExportResult, KSResult,
  BestEstimate, EvalResult, Preprocess did), and it describes each field, property and
  method, as test_api_docs has it for the exported classes (RunEvaluation's fields,
  NormalizedComparison's and ``Sample.macs`` were not);
- ``run_zoo``, which README.md calls from Python though ``cnnlab.bench`` exports
  nothing, names each of its parameters (it named 4 of 14);
- so do the network classes ``get_model`` returns, and the settings its overrides change;
- an ``Args:`` section names only parameters the signature has (a renamed or removed
  one cannot stay described);
- every ``:func:`` / ``:class:`` / ``:meth:`` / ``:mod:`` reference resolves;
- every doctest (``>>>``) in the package runs as written.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import functools
import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest
import torch
from test_api_docs import _class_gaps, _public_objects, _unnamed
from torch import nn

import cnnlab


def _modules() -> list:
    """Every module of the package but the command line's (its help is the CLI's)."""
    names = [m.name for m in pkgutil.walk_packages(cnnlab.__path__, "cnnlab.")
             if not m.name.startswith("cnnlab.cli") and not m.name.endswith("__main__")]
    return [importlib.import_module(name) for name in names]


def _own_doc(cls: type) -> bool:
    doc = cls.__doc__ or ""
    return bool(doc.strip()) and not doc.startswith(f"{cls.__name__}(")  # dataclass's own


def _callables(obj) -> list:
    if inspect.isfunction(obj):
        return [obj]
    found = []
    for attr in vars(obj).values():
        attr = attr.fget if isinstance(attr, property) else attr
        attr = attr.__func__ if isinstance(attr, staticmethod | classmethod) else attr
        if inspect.isfunction(attr):
            found.append(attr)
    return found


def _cnnlab_classes_named(annotation, namespace: dict) -> list[type]:
    """The cnnlab classes an annotation (a string under postponed evaluation) names."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    found = [namespace.get(word) for word in re.findall(r"[A-Za-z_]\w*", text)]
    return [c for c in found if inspect.isclass(c) and c.__module__.startswith("cnnlab")]


def _reached_classes() -> dict[str, type]:
    """Public classes, the classes public functions and methods return, and the field
    types of those that are dataclasses (``evaluate_run(...).result``), to depth 2."""
    todo = list(_public_objects().values())
    seen: dict[str, type] = {}
    for _ in range(3):
        later = []
        for obj in todo:
            if inspect.isclass(obj):
                key = f"{obj.__module__}.{obj.__qualname__}"
                if key in seen:
                    continue
                seen[key] = obj
                if dataclasses.is_dataclass(obj):
                    namespace = vars(importlib.import_module(obj.__module__))
                    for f in dataclasses.fields(obj):
                        later += _cnnlab_classes_named(f.type, namespace)
            for fn in _callables(obj):
                later += _cnnlab_classes_named(inspect.signature(fn).return_annotation,
                                               fn.__globals__)
        todo = later
    return seen


def test_classes_the_api_returns_have_their_own_docstring():
    reached = _reached_classes()
    for key in ("cnnlab.export.ExportResult", "cnnlab.design.edf.KSResult",
                "cnnlab.train.evaluate.EvalResult", "cnnlab.train.evaluate.Preprocess"):
        assert key in reached  # the walk reaches what it is meant to
    assert not [key for key, cls in reached.items() if not _own_doc(cls)]


def test_the_members_of_classes_the_api_returns_are_described():
    public = _public_objects()
    gaps = [gap for key, cls in _reached_classes().items() if key not in public
            for gap in _class_gaps(key, cls)]
    assert not gaps


def test_run_zoo_which_the_readme_calls_from_python_names_each_parameter():
    from cnnlab.bench.zoo import run_zoo

    assert "run_zoo(models, data=splits)" in " ".join(
        (Path(cnnlab.__file__).parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert not _unnamed(inspect.getdoc(run_zoo), run_zoo, "run_zoo")


def test_network_classes_and_their_settings_have_docstrings():
    # help(get_model("vgg11")) showed nn.Module's docstring; the *Cfg dataclasses list the
    # overrides get_model takes, and showed their generated signature alone.
    lacking = []
    for info in pkgutil.iter_modules(importlib.import_module("cnnlab.models").__path__):
        module = importlib.import_module(f"cnnlab.models.{info.name}")
        for name, cls in vars(module).items():
            if (inspect.isclass(cls) and cls.__module__ == module.__name__
                    and not name.startswith("_")
                    and (issubclass(cls, nn.Module) or name.endswith("Cfg"))
                    and not _own_doc(cls)):
                lacking.append(f"{module.__name__}.{name}")
    assert not lacking


def _args_names(doc: str) -> list[str]:
    """The names an ``Args:`` section describes (``a, b: ...`` names two)."""
    match = re.search(r"^Args:\n((?:[ \t]+\S.*\n?|[ \t]*\n)+)", doc, re.M)
    if not match:
        return []
    names = []
    for line in textwrap.dedent(match.group(1)).splitlines():
        entry = re.match(r"^(\*{0,2}\w+(?:, \*{0,2}\w+)*)(?: \([^)]*\))?:", line)
        if entry:  # an entry's first line; its continuation lines are indented further
            names += [name.lstrip("*") for name in entry.group(1).split(", ")]
    return names


def test_args_sections_describe_only_parameters_the_signature_has():
    stale = []
    for module in _modules():
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__ or name.startswith("_"):
                continue
            targets = [(name, obj, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                targets.append((name, obj, obj.__init__))
                targets += [(f"{name}.{fn.__name__}", fn, fn) for fn in _callables(obj)]
            for key, documented, function in targets:
                try:
                    parameters = inspect.signature(function).parameters
                except (TypeError, ValueError):
                    continue
                stale += [f"{module.__name__}.{key}: {arg}"
                          for arg in _args_names(inspect.getdoc(documented) or "")
                          if arg not in parameters]
    assert not stale


_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`~?([\w.]+)`")


@functools.cache
def _module_named(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _resolves(target: str, module, owner: str | None) -> bool:
    """Whether ``target`` names something: absolute, or from the referring module, its
    package, or the class the docstring belongs to (an instance attribute counts where
    the class's ``__init__`` assigns it)."""
    package = module.__name__.rpartition(".")[0]
    starts = [target, f"{module.__name__}.{target}", f"{package}.{target}"]
    if owner:
        starts.insert(0, f"{module.__name__}.{owner}.{target}")
    for dotted in starts:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            obj = _module_named(".".join(parts[:cut]))
            if obj is None:
                continue
            rest = parts[cut:]
            for i, part in enumerate(rest):
                if hasattr(obj, part):
                    obj = getattr(obj, part)
                elif i == len(rest) - 1 and inspect.isclass(obj) and re.search(
                        rf"self\.{part}\b", inspect.getsource(obj)):
                    return True  # an attribute the instance is given
                else:
                    break
            else:
                return True
            break
    return False


def _documented(node, owner: str | None = None):
    """(node, the class it is in) for the module, and each class and function in it."""
    yield node, owner
    for child in node.body:
        if isinstance(child, ast.ClassDef):
            yield from _documented(child, child.name)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _documented(child, owner)


def test_cross_references_resolve():
    broken = []
    for module in _modules():
        for node, owner in _documented(ast.parse(inspect.getsource(module))):
            for target in _ROLE.findall(ast.get_docstring(node) or ""):
                if not _resolves(target, module, owner):
                    broken.append(f"{module.__name__}:{getattr(node, 'lineno', 1)} {target}")
    assert not broken


def test_the_cross_reference_check_catches_a_broken_one():
    transfer = importlib.import_module("cnnlab.models.transfer")
    assert _resolves("cnnlab.models.interop.WeightsMismatchError", transfer, None)
    assert not _resolves("WeightsMismatchError", transfer, None)  # transfer has no such name


@pytest.mark.parametrize("module", [m for m in _modules() if ">>>" in inspect.getsource(m)],
                         ids=lambda m: m.__name__)
def test_every_doctest_runs_as_written(module):
    result = doctest.testmod(module, extraglobs={"torch": torch},
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed
