"""The model registry: one dict from name to builder plus metadata.

Builders are plain functions ``fn(num_classes, in_channels, **overrides) -> nn.Module``
decorated with :func:`register_model`. Registration happens when the family module
is imported; ``cnnlab.models`` imports every family, so importing it fills the
registry. Nothing edits ``__all__`` or inspects stack frames.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlab.models._errors import ModelFilterError, ModelOptionError, UnknownModelError
from cnnlab.models._names import natural_key
from cnnlab.models.own_models import check_builder, import_own_models, same_definition
from cnnlab.ops.conv import is_whole
from cnnlab.whole_imports import import_whole


@dataclass(frozen=True)
class BookRecipe:
    """How Dive into Deep Learning trains this model (ANCHORS §1): SGD at ``lr``, images
    resized to ``resize`` pixels, ``batch_size`` images a step, for ``epochs`` epochs.

    ``init`` is "xavier" where the book calls ``apply_init`` and "default" where it
    keeps PyTorch's initialisation; ``book_accuracy`` is the validation accuracy
    read off the book's plot after ``epochs`` epochs.
    """

    lr: float
    resize: int
    book_accuracy: float
    epochs: int = 10
    batch_size: int = 128
    init: str = "xavier"


@dataclass(frozen=True)
class ModelInfo:
    """Metadata carried by every registered model (``model_info(name)``).

    Attributes:
        name: the registered name; ``builder``: the function ``get_model`` calls.
        family, paper: the architecture family ("ResNet") and the paper it comes from.
        input_size: (channels, height, width) the model is designed for; also the
            default input.
        num_classes: the default number of classes.
        variant: "book" (the d2l chapter's form), "standard" (torchvision's / pycls's)
            or "cnnlab" (cnnlab's own).
        book_recipe: how the book trains it (a BookRecipe), for the book's models.
        fast_overrides: what the ``fast`` preset changes for this model (measured; see
            BENCHMARKS.md).
        torchvision_name: the torchvision builder whose weights and logits this model
            reproduces; ``torchvision_key_map`` maps a torchvision state_dict key to
            ours, where the names differ.
        sized_head: True when the classifier's input width depends on the image size
            (book nets that flatten a feature map): the builder then takes an
            ``image_size`` keyword.
        min_input_size: the smallest square input (pixels) the network accepts; tests
            build at this size.
    """

    name: str
    builder: Callable[..., nn.Module] = field(repr=False)
    family: str
    paper: str
    input_size: tuple[int, int, int]
    num_classes: int
    variant: str
    book_recipe: BookRecipe | None = None
    fast_overrides: dict = field(default_factory=dict)
    torchvision_name: str | None = None
    torchvision_key_map: Callable[[str], str] | None = field(default=None, repr=False)
    sized_head: bool = False
    min_input_size: int = 32

    @property
    def book_section(self) -> str | None:
        """Dive into Deep Learning's section for this family ("8.6"), None for one the
        book lacks; the BatchNorm LeNets are the batch-norm section's (8.5), not LeNet's.
        ``paper`` names the paper alone, for the book's networks too."""
        if self.family == "lenet" and "_bn" in self.name:
            return "8.5"
        return BOOK_FAMILY_SECTIONS.get(self.family)


# The book's (2nd edition) section for each family it builds.
BOOK_FAMILY_SECTIONS = {"lenet": "7.6", "alexnet": "8.1", "vgg": "8.2", "nin": "8.3",
                        "googlenet": "8.4", "resnet": "8.6", "densenet": "8.7",
                        "anynet": "8.8", "regnet": "8.8"}
_REGISTRY: dict[str, ModelInfo] = {}
# ModelInfo.variant's values: the d2l chapter's form, torchvision's / pycls's, cnnlab's own.
VARIANTS = ("book", "standard", "cnnlab")
# Names resolved outside the registry (cnnlab/models/pretrained.py).
EXTERNAL_PREFIXES = ("tv:", "timm:")


def register_model(
    *,
    family: str,
    paper: str,
    input_size: tuple[int, int, int],
    num_classes: int = 10,
    variant: str = "cnnlab",
    book_recipe: BookRecipe | None = None,
    fast_overrides: dict | None = None,
    torchvision_name: str | None = None,
    torchvision_key_map: Callable[[str], str] | None = None,
    sized_head: bool = False,
    min_input_size: int | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``fn`` under ``name`` (default: the function's name); ``fn`` is
    returned unchanged.

    The other keywords become the :class:`ModelInfo` fields of their names: ``family``,
    ``paper``, ``input_size``, ``num_classes`` (default 10), ``variant`` (default
    "cnnlab"; one of VARIANTS), ``book_recipe``, ``fast_overrides``,
    ``torchvision_name``, ``torchvision_key_map``, ``sized_head`` and ``min_input_size``
    (default: 32, or ``input_size``'s side where smaller), where ModelInfo says what each
    means.

    Refuses duplicate names, so two families can never silently shadow each other (the
    same function defined again, a notebook cell run twice, replaces its entry), names
    with capitals, so that looking a name up in any case finds exactly one model, and a
    builder without the ``num_classes`` and ``in_channels`` keywords get_model passes.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be 'book', 'standard' or 'cnnlab', not {variant!r}")

    def decorate(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        model_name = name or fn.__name__
        if model_name != model_name.lower():
            raise ValueError(f"model names are lower-case; register {model_name!r} as "
                             f"{model_name.lower()!r}")
        check_builder(fn, model_name)
        old = _REGISTRY.get(model_name)
        if old is not None and not same_definition(old.builder, fn):  # a re-run replaces
            raise ValueError(f"model {model_name!r} is already registered (by "
                             f"{old.builder.__module__}); register yours under another name")
        _REGISTRY[model_name] = ModelInfo(
            name=model_name,
            builder=fn,
            family=family,
            paper=paper,
            input_size=tuple(input_size),
            num_classes=num_classes,
            variant=variant,
            book_recipe=book_recipe,
            fast_overrides=dict(fast_overrides or {}),
            torchvision_name=torchvision_name,
            torchvision_key_map=torchvision_key_map,
            sized_head=sized_head,
            # A network made for 28x28 was refused its own input by a default of 32.
            min_input_size=(min(32, *input_size[1:]) if min_input_size is None
                            else min_input_size),
        )
        return fn

    return decorate


def closest_names(name: str, limit: int = 5) -> list[str]:
    """Registered names close to ``name`` (in any case), best first."""
    name = name.lower()
    names = sorted(_REGISTRY)
    close = difflib.get_close_matches(name, names, n=limit, cutoff=0.5)
    # Prefix matches first ("lenet" -> lenet, lenet_modern, ... before alexnet), then
    # the spelling-close ones, then substrings ("bn" -> lenet_bn, vgg11_bn, ...).
    prefix = [n for n in names if n.startswith(name)]
    inside = [n for n in names if name in n]
    out: list[str] = []
    for n in prefix + close + inside:
        if n not in out:
            out.append(n)
    return out[:limit]


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``, in any case ("LeNet_D2L" is lenet_d2l): family,
    paper, ``input_size``, ``num_classes``, ``variant`` and, for the book's, its recipe.

    Example::

        >>> model_info("lenet_d2l").input_size, model_info("lenet_d2l").variant
        ((1, 28, 28), 'book')
    """
    if not isinstance(name, str):  # None, a built model: failed on .startswith before
        built = ": a model already built is used as it is" if isinstance(name, nn.Module) else ""
        raise TypeError(f"a model is named by a str such as 'resnet18' (list_models() lists "
                        f"them), not {'None' if name is None else type(name).__name__}{built}")
    if name.startswith(EXTERNAL_PREFIXES):
        from cnnlab.models.pretrained import external_model_info

        return external_model_info(name)
    _ensure_families_loaded()
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise UnknownModelError(name, closest_names(name)) from None


def list_models(pattern: str | None = None, *, family: str | None = None,
                variant: str | None = None) -> list[str]:
    """Registered names in natural order (resnet18 before resnet101, regnet_x_800mf before
    regnet_x_1_6gf); ``pattern`` is a shell wildcard such as ``"resnet*"``.

    A pattern without wildcards matches as a substring, so ``list_models("vgg")``
    finds every VGG, and ``list_models("lenet")`` googlenet too; ``"lenet*"`` gives
    the LeNets alone. Case does not matter (the names are lower-case).

    ``family`` (``"resnet"``, ``"densenet"``, ...) and ``variant`` (``"book"``: the d2l
    chapter's form, ``"standard"``: torchvision's or pycls's, or ``"cnnlab"``), each in
    any case, keep the models that have it, as ``cnnlab models --family F
    --variant V`` does; one no model has is a :class:`ModelFilterError` (a ValueError)
    naming those there are.

    Example::

        >>> "lenet_d2l" in list_models("lenet*")
        True
        >>> "resnet18_d2l" in list_models("resnet*", variant="book")
        True
    """
    _ensure_families_loaded()
    names = sorted(_REGISTRY, key=natural_key)
    if family is not None:
        families = sorted({info.family.lower() for info in _REGISTRY.values()})
        if family.lower() not in families:
            close = difflib.get_close_matches(family.lower(), families, n=1, cutoff=0.5)
            raise ModelFilterError("family", family, families, close[0] if close else None)
        names = [n for n in names if _REGISTRY[n].family.lower() == family.lower()]
    if variant is not None:
        if str(variant).lower() not in VARIANTS:  # in any case, as family and names
            close = difflib.get_close_matches(str(variant).lower(), VARIANTS, n=1, cutoff=0.5)
            raise ModelFilterError("variant", variant, list(VARIANTS), close[0] if close
                                   else None)
        names = [n for n in names if _REGISTRY[n].variant == str(variant).lower()]
    if not pattern:
        return names
    if not isinstance(pattern, str):
        raise TypeError(f"list_models' pattern is a str such as 'resnet*', not {pattern!r}")
    pattern = pattern.lower()
    if not any(ch in pattern for ch in "*?["):
        pattern = f"*{pattern}*"
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def get_model(
    name: str,
    num_classes: int | None = None,
    in_channels: int | None = None,
    *,
    weights: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None = None,
    scratch_ops: bool | str = False,
    **overrides: Any,
) -> nn.Module:
    """Build a registered model, fully materialised and initialised.

    ``name`` is a registered name, in any case. ``num_classes`` and ``in_channels``
    default to the registry entry's values (10 classes, 1 channel for the book's
    Fashion-MNIST models; 1000 and 3 for the ImageNet-shaped standard variants).
    The remaining keyword arguments (``overrides``) go to the builder
    (``image_size=96``, ``memory_efficient=True``, ...).

    ``name`` may also be ``"tv:NAME"`` (any torchvision classifier) or ``"timm:NAME"``
    (when timm is installed). ``weights`` starts the model from pretrained weights: a
    safetensors / ``.pth`` file, a state_dict, or a torchvision weights name such as
    ``"DEFAULT"`` (downloaded). They are adapted to ``num_classes`` (a new classifier)
    and ``in_channels`` (first-conv filters summed for grey input); see
    :mod:`cnnlab.models.pretrained`.

    ``scratch_ops=True`` builds the model with cnnlab's from-scratch convolution,
    pooling and batch norm (:mod:`cnnlab.ops`) in place of PyTorch's layers, same
    parameters and state_dict keys; ``scratch_ops="fft"`` uses FFT convolution.

    Example::

        >>> from cnnlab import get_model
        >>> book = get_model("resnet18_d2l")                    # the book's: 10 classes, 1x96x96
        >>> std = get_model("resnet18", num_classes=10, in_channels=1)  # torchvision's form
        >>> book(torch.rand(8, 1, 96, 96)).shape                # a float (N, C, H, W) batch
        torch.Size([8, 10])
    """
    info = model_info(name)
    for arg, value, least in (("num_classes", num_classes, 0), ("in_channels", in_channels, 1)):
        if value is not None and (not is_whole(value) or value < least):
            raise ValueError(f"{arg} must be a whole number >= {least}, got {value!r}"
                             + (" (0: no classifier, the pre-logits features out)"
                                if arg == "num_classes" else ""))
    if scratch_ops not in (False, True, "fft"):
        raise ValueError(f"scratch_ops must be False, True or 'fft', got {scratch_ops!r}")
    size = overrides.get("image_size")
    if size is not None and not all(is_whole(n) and n >= 1 for n in _pair(size)):
        raise ValueError(f"image_size is a whole number of pixels S (S x S) or (H, W), got "
                         f"{size!r}")
    if size is not None:  # numpy's int64 (alone or in a pair): builders test for int
        overrides["image_size"] = size = (tuple(map(int, size))
                                          if isinstance(size, (tuple, list)) else int(size))
    if size is not None and min(_pair(size)) < info.min_input_size:
        raise ValueError(
            f"{name} needs inputs of at least {info.min_input_size}x{info.min_input_size} "
            f"pixels, got image_size={size}; resize the data (--resize "
            f"{info.min_input_size} or more; resize= from Python) or pick a model made for "
            "small inputs"
        )
    try:
        model = info.builder(
            num_classes=info.num_classes if num_classes is None else num_classes,
            in_channels=info.input_size[0] if in_channels is None else in_channels,
            **overrides,
        )
    except TypeError as exc:
        option, options = _unknown_option(info, exc, overrides)
        if option is None:
            raise
        own = _get_model_keywords()
        rest = {*keyword_options(info.builder), *options} - set(own)
        raise ModelOptionError(info.name, option, own + sorted(rest)) from None
    model.cnnlab_name = info.name  # lets checkpoints and reports say what was built
    # One sample's (C, H, W) as built: what summary(model) measures when given no size.
    model.cnnlab_input_size = (info.input_size[0] if in_channels is None else in_channels,
                               *(info.input_size[1:] if size is None else _pair(size)))
    if weights is not None:
        from cnnlab.models.transfer import load_pretrained

        # What was done (a new head, adapted channels, an input transform turned on),
        # for the caller to record: a run keeps it in its config.
        model.pretrained_load = load_pretrained(
            model, weights, info, auto_transform_input="transform_input" not in overrides)
    if scratch_ops:
        from cnnlab.ops.modules import convert_to_scratch

        convert_to_scratch(model, fft=scratch_ops == "fft")
    return model


def model_on_meta(name: str, **kwargs) -> nn.Module:
    """``get_model(name, **kwargs)`` built on the meta device (shapes, no memory, no
    weights drawn) where its builder allows; built as usual where the builder reads
    tensor values while it builds, which a meta tensor has none of (torchvision's RegNets
    turn their widths into a list: NotImplementedError). Check ``on_meta(model)``
    before relying on the device."""
    import_whole()  # the meta device imports torch's compiler: a Ctrl-C must not cut it
    try:
        with torch.device("meta"):
            return get_model(name, **kwargs)
    except (NotImplementedError, RuntimeError):
        return get_model(name, **kwargs)


def on_meta(model: nn.Module) -> bool:
    """Whether ``model``'s tensors are all on the meta device (no values yet)."""
    tensors = [*model.parameters(), *model.buffers()]
    return bool(tensors) and all(t.device.type == "meta" for t in tensors)


def _get_model_keywords() -> list[str]:
    """get_model's own keywords (num_classes, in_channels, weights, scratch_ops), read off
    its signature so the list cannot fall behind it."""
    return [p.name for p in inspect.signature(get_model).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "name"]


def keyword_options(fn: Callable) -> list[str]:
    """The keywords a builder or model class takes that a user sets: its parameters but
    ``self``, the config object and the two get_model passes (num_classes, in_channels)."""
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in ("self", "cfg", "num_classes", "in_channels")]


def _unknown_option(info: ModelInfo, exc: TypeError, overrides: dict
                    ) -> tuple[str | None, list[str]]:
    """(the option the user gave that the builder refused, the options it takes), or
    (None, []) when ``exc`` is about something else.

    A family's ModelOptionError carries both. Python's own "unexpected keyword argument"
    names the class refusing it ('LeNetCfg.__init__()', 'GoogLeNet.__init__()'): its
    dataclass fields or keyword arguments are the options. A keyword the user did not
    give (a layer factory calling another wrongly) is not an option of the model.
    """
    if isinstance(exc, ModelOptionError):
        return (exc.option, exc.accepted) if exc.option in overrides else (None, [])
    unexpected = re.search(r"(?:(\w+)\.__init__\(\) )?got an unexpected keyword argument "
                           r"'([^']+)'", str(exc))
    if unexpected is None or unexpected.group(2) not in overrides:
        return None, []
    refusing = getattr(info.builder, "__globals__", {}).get(unexpected.group(1) or "")
    if refusing is None:  # tv:NAME / timm:NAME: the library's own class refused it
        libraries = [sys.modules[m] for m in ("torchvision.models", "timm.models")
                     if m in sys.modules]
        refusing = next((getattr(lib, unexpected.group(1)) for lib in libraries
                         if unexpected.group(1) and hasattr(lib, unexpected.group(1))), None)
    if refusing is None:
        return unexpected.group(2), []
    if dataclasses.is_dataclass(refusing):
        return unexpected.group(2), [f.name for f in dataclasses.fields(refusing)]
    return unexpected.group(2), keyword_options(refusing)


def _pair(size) -> tuple:
    # A str is one value too: tuple("32") would be ("3", "2").
    return tuple(size) if isinstance(size, (tuple, list)) else (size, size)


_families_loaded = False


def _ensure_families_loaded() -> None:
    # Importing cnnlab.models imports every family module, which registers them; then
    # the user's own modules ($CNNLAB_MODELS) register theirs.
    global _families_loaded
    if not _families_loaded:
        _families_loaded = True
        import cnnlab.models  # noqa: F401

        try:
            import_own_models()
        except BaseException:
            _families_loaded = False  # said again by the next lookup, not skipped
            raise
