"""$CNNLAB_MODELS behaviours no other test held (hand mutation testing, session 39): each
test here fails for a plausible slip in cnnlab/models/own_models.py or the registry's
first lookup that the rest of the suite let through."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
from torch import nn

from cnnlab.models import _registry, get_model, model_info

_NET = """
    from torch import nn
    from cnnlab.models import register_model

    @register_model(family="own", paper="-", input_size=(1, 28, 28))
    def {name}(num_classes=10, in_channels=1):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 28 * 28, num_classes))
"""


def _write(path, name: str, before: str = "") -> None:
    path.write_text(textwrap.dedent(before) + textwrap.dedent(_NET.format(name=name)),
                    encoding="utf-8")


def test_a_file_imported_by_name_gives_the_models_of_that_very_module(
        registry, tmp_path, monkeypatch):
    # Run a second time under another module name, its classes and builders are copies:
    # get_model's net is then no instance of the class the user's script imported.
    _write(tmp_path / "own_same_nets.py", "own_same")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "own_same_nets", raising=False)
    import own_same_nets

    monkeypatch.setenv("CNNLAB_MODELS", str(tmp_path / "own_same_nets.py"))
    _registry._families_loaded = False
    assert model_info("own_same").builder is own_same_nets.own_same


def test_a_file_that_failed_is_read_again_once_it_is_fixed(registry, tmp_path, monkeypatch):
    # A notebook user fixes the file and looks the model up again in the same process.
    path = tmp_path / "own_fixed_nets.py"
    path.write_text("raise RuntimeError('a slip in the file')\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("CNNLAB_MODELS", str(path))
    _registry._families_loaded = False
    with pytest.raises(RuntimeError, match="a slip in the file"):
        model_info("own_fixed")
    _write(path, "own_fixed")
    assert isinstance(get_model("own_fixed"), nn.Sequential)


def test_a_module_missing_an_import_of_its_own_raises_that_import_error(
        registry, tmp_path, monkeypatch):
    # Its traceback names the missing dependency; a warning that the user's module is
    # "not found" would send them looking in the wrong place.
    _write(tmp_path / "own_needy_nets.py", "own_needy", before="import no_such_dependency_x\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setenv("CNNLAB_MODELS", "own_needy_nets")
    _registry._families_loaded = False
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_x"):
        model_info("own_needy")


def test_several_files_are_separated_as_paths_are(registry, tmp_path, monkeypatch):
    _write(tmp_path / "own_first_nets.py", "own_first")
    _write(tmp_path / "own_second_nets.py", "own_second")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("CNNLAB_MODELS", os.pathsep.join(
        str(tmp_path / f) for f in ("own_first_nets.py", "own_second_nets.py")))
    _registry._families_loaded = False
    assert model_info("own_first").family == model_info("own_second").family == "own"
