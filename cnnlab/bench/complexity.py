"""Parameters and MACs of a registered model, counted without its weights, and a cache
of them for `cnnlab models`.

Building a model for real takes seconds for the large ones (VGG-19 initialises 144M
weights on the CPU), so :func:`complexity` builds it on the meta device (shapes only:
no memory, no random init) and counts it with one FlopCounterMode pass on meta tensors.
A builder that needs real values while it builds (widths computed with tensor ops and
read back with ``.tolist()``) cannot run on meta; that model is built on the CPU instead.

Even on meta a forward pass costs about a millisecond per op (DenseNet-201: ~1 s), so
:class:`ComplexityCache` keeps each model's counts at its default input in
``~/.cache/cnnlab/complexity.json`` (``$CNNLAB_CACHE`` or ``$XDG_CACHE_HOME`` move it,
as they move every cache of cnnlab). The cache is keyed by a hash of the torch version
and every source file of ``cnnlab.models``, ``cnnlab.ops`` and ``cnnlab.inspect``, so
editing a model, a layer or the counter recounts everything; a missing or unreadable
cache only costs time. The first listing of the whole zoo takes ~10-30 s on a small
CPU, later ones well under a second on top of the imports.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cnnlab.atomic import atomic_write_text


def complexity(name: str, input_size: tuple[int, int, int], **build) -> tuple[int, int]:
    """(parameters, MACs for one image of ``input_size``) of ``get_model(name, **build)``.
    ``build`` is get_model's: ``num_classes`` (the classifier's size is part of both
    counts), ``in_channels``, ``image_size``, model options."""

    from cnnlab.inspect import count_macs
    from cnnlab.models._registry import model_on_meta

    model = model_on_meta(name, **build)
    return sum(p.numel() for p in model.parameters()), count_macs(model, input_size)


def default_complexity(info) -> tuple[int, int]:
    """(parameters, MACs) of a registered model (its ``ModelInfo``) as the registry builds
    it by default, at its default input, batch 1."""
    build = {"image_size": info.input_size[1]} if info.sized_head else {}
    return complexity(info.name, tuple(info.input_size), **build)


class ComplexityCache:
    """:func:`default_complexity` per model, stored as JSON between runs (see the module's
    docstring). ``get`` counts what is missing; ``save`` writes the file if it changed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path: Path | None = None
        self.fingerprint = sources_fingerprint()
        self.entries: dict[str, list[int]] = {}
        self.dirty = False
        try:  # no cache folder at all (no home: CacheLocationError, an OSError) counts anew
            self.path = path or _cache_dir() / "complexity.json"
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("fingerprint") == self.fingerprint:
                self.entries = {k: v for k, v in data["entries"].items()
                                if isinstance(v, list) and len(v) == 2
                                and all(isinstance(n, int) for n in v)}
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no cache yet, or a damaged one: recount

    @staticmethod
    def _key(info) -> str:
        return f"{info.name}@{'x'.join(map(str, info.input_size))}"

    def has(self, info) -> bool:
        """Whether ``info``'s counts are stored (``get`` returns them at once)."""
        return self._key(info) in self.entries

    def get(self, info) -> tuple[int, int]:
        if not info.builder.__module__.startswith("cnnlab."):
            # A user's own network ($CNNLAB_MODELS): the fingerprint covers cnnlab's
            # sources only, so an edited one would list its first counts ever after.
            return default_complexity(info)
        key = self._key(info)
        if key not in self.entries:
            self.entries[key] = list(default_complexity(info))
            self.dirty = True
        params, macs = self.entries[key]
        return params, macs

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        data = json.dumps({"fingerprint": self.fingerprint, "entries": self.entries})
        try:  # a crash never leaves half a file, nor its temporary one
            atomic_write_text(self.path, data)
        except OSError:
            pass  # a read-only home only loses the speed-up


def _cache_dir() -> Path:
    from cnnlab.data.dataset import cache_root  # one cache folder for all of cnnlab

    return cache_root()


def sources_fingerprint() -> str:
    """A hash of what the counts depend on: torch, the models, the from-scratch layers
    some of them build with (lenet_bn_d2l), the counter itself and this module's build."""
    import torch

    import cnnlab.models

    digest = hashlib.sha256(torch.__version__.encode())
    package = Path(cnnlab.models.__file__).parent.parent
    for folder in ("models", "ops", "inspect"):
        for path in sorted((package / folder).glob("*.py")):
            digest.update(f"{folder}/{path.name}".encode() + path.read_bytes())
    digest.update(Path(__file__).read_bytes())  # how a model is built to be counted
    return digest.hexdigest()[:16]
