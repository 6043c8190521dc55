"""`cnnlab models`' cache of parameters and MACs (bench/complexity.py): counts kept
between runs under a fingerprint of what they depend on, one entry per model and input,
none for a user's own network, and the counts themselves those of the built model."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

import cnnlab.models
from cnnlab.bench import complexity as cx


def _info(name="lenet_d2l", size=(1, 28, 28), module="cnnlab.models.lenet", sized=False):
    return SimpleNamespace(name=name, input_size=size, sized_head=sized,
                           builder=SimpleNamespace(__module__=module))


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def fake(info):
        calls.append(info.name)
        return 100 + len(calls), 1000

    monkeypatch.setattr(cx, "default_complexity", fake)
    return calls


def test_counts_are_kept_between_runs_and_only_missing_ones_counted(tmp_path, counted):
    path = tmp_path / "complexity.json"
    cache = cx.ComplexityCache(path)
    assert cache.get(_info()) == (101, 1000) and cache.get(_info()) == (101, 1000)
    cache.save()
    again = cx.ComplexityCache(path)
    assert again.has(_info()) and again.get(_info()) == (101, 1000)
    assert counted == ["lenet_d2l"]  # counted once, in the first run


def test_each_input_size_is_an_entry_of_its_own(tmp_path, counted):
    cache = cx.ComplexityCache(tmp_path / "c.json")
    cache.get(_info())
    assert not cache.has(_info(size=(3, 224, 224)))
    assert cache.get(_info(size=(3, 224, 224))) == (102, 1000)


def test_a_cache_of_other_sources_is_counted_again(tmp_path, counted):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"fingerprint": "older", "entries": {
        "lenet_d2l@1x28x28": [1, 2]}}), encoding="utf-8")
    cache = cx.ComplexityCache(path)
    assert not cache.has(_info()) and cache.get(_info()) == (101, 1000)


def test_a_users_own_network_is_never_cached(tmp_path, counted):
    cache = cx.ComplexityCache(tmp_path / "c.json")
    mine = _info(name="my_net", module="my_models")
    for _ in range(2):
        cache.get(mine)
    assert counted == ["my_net", "my_net"] and not cache.has(mine)


def test_the_fingerprint_follows_every_source_it_names(tmp_path, monkeypatch):
    package = tmp_path / "cnnlab"
    for folder in ("models", "ops", "inspect"):
        (package / folder).mkdir(parents=True)
        (package / folder / "a.py").write_text("x = 1\n", encoding="utf-8")
    counter = tmp_path / "complexity.py"
    counter.write_text("y = 1\n", encoding="utf-8")
    monkeypatch.setattr(cnnlab.models, "__file__", str(package / "models" / "__init__.py"))
    monkeypatch.setattr(cx, "__file__", str(counter))
    seen = {cx.sources_fingerprint()}
    for source in [package / f / "a.py" for f in ("models", "ops", "inspect")] + [counter]:
        source.write_text("changed = 2\n", encoding="utf-8")
        seen.add(cx.sources_fingerprint())
    assert len(seen) == 5  # each edit recounts


def test_a_sized_head_is_built_for_the_models_own_side(monkeypatch):
    asked = []
    monkeypatch.setattr(cx, "complexity", lambda name, size, **build: asked.append(
        (size, build)) or (1, 2))
    cx.default_complexity(_info(size=(1, 28, 28), sized=True))
    cx.default_complexity(_info(size=(3, 224, 224), sized=False))
    assert asked == [((1, 28, 28), {"image_size": 28}), ((3, 224, 224), {})]


def test_the_parameters_counted_on_meta_are_the_built_models():
    from cnnlab.models import get_model

    model = get_model("lenet_d2l")
    params, macs = cx.complexity("lenet_d2l", (1, 28, 28))
    assert params == sum(p.numel() for p in model.parameters()) and macs > 0
