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
import inspect
import os
import typing
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


@pytest.mark.parametrize("package", [cnnlab, cnnlab.train], ids=lambda p: p.__name__)
def test_star_imports_name_every_export_in_a_list_type_checkers_read(package):
    # A computed __all__ (sorted(_EXPORTS)) is opaque to mypy: `from cnnlab import *`
    # brought __version__ alone, and get_model was "not defined".
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    [listed] = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and [ast.unparse(t) for t in node.targets] == ["__all__"]]
    names = ast.literal_eval(listed)  # a literal list, or this raises
    assert set(names) == set(package._EXPORTS) | ({"__version__"} if package is cnnlab
                                                  else set())


def test_the_package_is_marked_typed():
    # Without py.typed, mypy skips an installed cnnlab ("module is installed, but
    # missing library stubs or py.typed marker") and every type is Any.
    assert (ROOT / "py.typed").is_file()


def test_a_train_result_or_a_path_is_taken_wherever_a_folder_is_annotated():
    # The README's resume(result) / read_result(result) / evaluate_run(result) work at
    # run time (a TrainResult is os.PathLike); an annotation of `str | Path` made each a
    # type error. Each run-folder parameter takes any os.PathLike.
    from cnnlab.design.runner import create_sweep, run_sweep
    from cnnlab.export import export_run
    from cnnlab.train.evaluate import evaluate_run
    from cnnlab.train.predict import predict_image, predict_images
    from cnnlab.train.run import read_result, resume

    def annotation(function, parameter: str) -> list[str]:
        # The annotation's text: its other names are imported for type checkers alone.
        return str(inspect.signature(function).parameters[parameter].annotation).split(" | ")

    taking = {resume: "run_dir", read_result: "run_dir", evaluate_run: "run_dir",
              predict_images: "run_dir", predict_image: "run", export_run: "run_dir"}
    for function, parameter in taking.items():
        assert "os.PathLike[str]" in annotation(function, parameter), function.__name__
    # A sweep's folder: a Path (it was unannotated, so Any to a checker).
    for function in (create_sweep, run_sweep):
        assert "Path" in annotation(function, "directory"), function.__name__


def test_train_result_model_is_an_attribute_to_checkers_and_no_field_at_run_time():
    from dataclasses import asdict, fields

    from cnnlab.train.outcome import TrainResult

    result = TrainResult(run_dir=None, history=[], final={}, best_test_acc=0.5,
                         train_time_s=1.0, model="net")  # type: ignore[arg-type]
    assert result.model == "net"
    assert "model" not in {f.name for f in fields(result)} and "model" not in asdict(result)
    assert "model" not in repr(result)
    # To a checker an InitVar is no attribute ("result.model" was an error to pyright and
    # mypy): its TYPE_CHECKING branch declares a field, whose default __post_init__ takes.
    source = ast.parse(inspect.getsource(TrainResult))
    branches = [node for node in ast.walk(source)
                if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    declared = [ast.unparse(line.target) for branch in branches for line in branch.body
                if isinstance(line, ast.AnnAssign)]
    assert declared == ["model"]
    assert inspect.signature(TrainResult.__post_init__).parameters["model"].default is None


def test_train_config_path_fields_are_annotated_to_take_a_path_and_say_text_when_wrong():
    # TrainConfig(out_dir=Path("runs")) works (kept as text), but `out_dir: str` made it
    # a type error. The type check reads the annotation's text: its message is unchanged.
    from cnnlab.train.config import ConfigError, TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    for name in ("data_root", "out_dir", "weights"):
        assert os.PathLike[str] in typing.get_args(hints[name]), (name, hints[name])
    with pytest.raises(ConfigError, match=r"out_dir: 5; allowed: text \(quote it if YAML "
                                          r"reads it as something else\)$"):
        TrainConfig(out_dir=5).validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"data_root: \[1\]; allowed: text .* or null$"):
        TrainConfig(data_root=[1]).validate()  # type: ignore[arg-type]
