"""load_run's choice of build, pinned where session 42's tests left it loose (mutation53):
a small checkpoint of a torchvision/timm model still imports torch's compiler whole
before building (torchvision's own import brings it in: a Ctrl-C must not cut it off)."""

from __future__ import annotations

import pytest


def test_an_external_models_small_checkpoint_imports_the_compiler_first(tiny_run,
                                                                         monkeypatch):
    from cnnlab.train import loaded_run

    class Imported(Exception):
        pass

    def import_whole():
        raise Imported

    monkeypatch.setattr(loaded_run, "import_whole", import_whole)
    # tiny_run's lenet_modern taken for an external model's name: its checkpoint is small
    monkeypatch.setattr(loaded_run, "EXTERNAL_PREFIXES", ("lenet_",))
    with pytest.raises(Imported):
        loaded_run.load_run(tiny_run)
    monkeypatch.setattr(loaded_run, "EXTERNAL_PREFIXES", ("tv:", "timm:"))
    assert loaded_run.load_run(tiny_run).model is not None  # not imported: built as usual
