"""load_run of a small run still imports torch's compiler whole (Ctrl-C held back) where
building its network imports it anyway: a run with cnnlab's scratch ops (their check of
what stayed unconverted runs torch's decompositions) or a torchvision model (torchvision's
own import). Since small runs were built without the meta device, neither was guarded."""

from __future__ import annotations

import shutil

import pytest
import yaml


class Imported(Exception):
    pass


def _load_with(tiny_run, tmp_path, monkeypatch, **config):
    from cnnlab.train import loaded_run

    def import_whole():
        raise Imported

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    (run / "config.yaml").write_text(yaml.safe_dump({**cfg, **config}), encoding="utf-8")
    monkeypatch.setattr(loaded_run, "import_whole", import_whole)
    return loaded_run.load_run(run)


def test_a_small_scratch_ops_run_imports_the_compiler_first(tiny_run, tmp_path,
                                                            monkeypatch):
    with pytest.raises(Imported):
        _load_with(tiny_run, tmp_path, monkeypatch, scratch_ops=True)


def test_a_small_run_of_pytorchs_ops_does_not(tiny_run, tmp_path, monkeypatch):
    assert _load_with(tiny_run, tmp_path, monkeypatch).model is not None
