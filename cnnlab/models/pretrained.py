"""Pretrained backbones: torchvision and timm models by name, and their weights.

Two kinds of names reach outside cnnlab's own registry, without registering
thousands of entries (``list_models()`` stays cnnlab's list):

- ``tv:NAME``: any torchvision classifier (``torchvision.models.list_models``),
  wrapped in :class:`TorchvisionNet` so it has cnnlab's interface;
- ``timm:NAME``: any timm model when timm is installed (``pip install 'cnnlab[timm]'``);
  timm models already have that interface and are returned as they are.

``get_model(name, weights=...)`` starts any model from pretrained weights: a local
file (safetensors, or ``.pth`` read with ``weights_only=True``), a state_dict, or a
torchvision weights name such as ``"DEFAULT"`` (downloaded; offline, the error says
how to get a file). Weights keep the shape they were saved with (ImageNet's 1000
classes, RGB); :mod:`cnnlab.models.transfer` adapts them to the model that was asked
for (a new classifier, the first convolution for grey input).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.extras import require_extra
from cnnlab.models._base import Network, first_conv, linear_head, replace_submodule
from cnnlab.models._registry import EXTERNAL_PREFIXES, ModelInfo, UnknownModelError
from cnnlab.models.interop import read_weights_and_overrides

TORCHVISION_PREFIX, TIMM_PREFIX = EXTERNAL_PREFIXES  # "tv:", "timm:"
_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")


class WeightsUnavailableError(FileNotFoundError):
    """Named pretrained weights could not be fetched (offline); pass a local file instead."""


@functools.cache
def external_model_info(name: str) -> ModelInfo:
    """Registry metadata for ``tv:NAME`` / ``timm:NAME``, made on first use."""
    if name.startswith(TORCHVISION_PREFIX):
        return _torchvision_info(name[len(TORCHVISION_PREFIX):])
    return _timm_info(name[len(TIMM_PREFIX):])


# --- torchvision ----------------------------------------------------------------

# Where each torchvision family keeps its final linear layer (a state_dict prefix).
# SqueezeNet is absent: its classifier is a convolution followed by pooling.
_TV_CLASSIFIERS = (
    ("resnet", "fc"), ("resnext", "fc"), ("wide_resnet", "fc"), ("regnet_", "fc"),
    ("googlenet", "fc"), ("inception_v3", "fc"), ("shufflenet_v2", "fc"),
    ("densenet", "classifier"),
    ("alexnet", "classifier.6"), ("vgg", "classifier.6"),
    ("mobilenet_v2", "classifier.1"), ("mnasnet", "classifier.1"),
    ("efficientnet", "classifier.1"), ("mobilenet_v3", "classifier.3"),
    ("convnext", "classifier.2"), ("maxvit", "classifier.5"),
    ("vit_", "heads.head"), ("swin", "head"),
)
# Auxiliary classifiers return a tuple in training mode; the adapter leaves them out,
# and their keys in the released weights are skipped when loading.
_TV_DEFAULTS = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}
TV_AUX_KEYS = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}


def torchvision_classifier(arch: str) -> str | None:
    return next((slot for prefix, slot in _TV_CLASSIFIERS if arch.startswith(prefix)), None)


def _torchvision_info(arch: str) -> ModelInfo:
    import torchvision

    all_names = torchvision.models.list_models(module=torchvision.models)
    names = [n for n in all_names if torchvision_classifier(n) is not None]
    if arch in all_names and arch not in names:
        raise ValueError(f"{TORCHVISION_PREFIX}{arch} is not supported: its classifier is not "
                         "a final linear layer, so there is no head to replace")
    if arch not in names:
        close = difflib.get_close_matches(arch, names, n=5, cutoff=0.5)
        raise UnknownModelError(f"{TORCHVISION_PREFIX}{arch}",
                                [TORCHVISION_PREFIX + n for n in close],
                                where="torchvision.models.list_models() lists them")
    # The default weights' metadata (no download) gives the size and class count.
    default = torchvision.models.get_model_weights(arch).DEFAULT
    crop = default.transforms().crop_size[0]
    return ModelInfo(
        name=TORCHVISION_PREFIX + arch,
        builder=functools.partial(TorchvisionNet, arch),
        family="torchvision",
        paper=f"torchvision.models.{arch} (recipe: {default.meta.get('recipe', 'n/a')})",
        input_size=(3, crop, crop),
        num_classes=len(default.meta["categories"]),
        variant="standard",
        torchvision_name=arch,
        torchvision_key_map=functools.partial(_torchvision_key, torchvision_classifier(arch)),
        min_input_size=max(default.meta.get("min_size", (32, 32))),
    )


def _torchvision_key(classifier: str, key: str) -> str:
    """torchvision state_dict key -> TorchvisionNet key (``head.*`` / ``body.*``); a
    DenseNet layer's legacy ``norm.1`` name (in torchvision's released files) as its
    model names it, ``norm1``."""
    from cnnlab.models.densenet import torchvision_densenet_key

    if key.startswith(classifier + "."):
        return "head." + key[len(classifier) + 1:]
    return "body." + torchvision_densenet_key(key)


class TorchvisionNet(Network):
    """A torchvision classifier with cnnlab's interface.

    ``body`` is the torchvision model with its final linear layer taken out (an
    Identity holds its place) and ``head`` is that layer, so ``forward`` computes
    exactly torchvision's function. ``forward_features`` returns what torchvision
    feeds its classifier, a ``num_features`` vector per image (pooled, after any
    dropout), so ``forward_head(x, pre_logits=True)`` returns it unchanged.
    """

    def __init__(self, arch: str, num_classes: int, in_channels: int, **overrides):
        super().__init__()
        import torchvision

        slot = torchvision_classifier(arch)
        if slot is None:
            raise ValueError(f"torchvision's {arch} has no linear classifier cnnlab can adapt")
        kwargs = {**_TV_DEFAULTS.get(arch, {}), **overrides}
        if kwargs.get("aux_logits"):  # a training forward returns torchvision's tuple type,
            # which the head here cannot take ("linear(): argument 'input' must be Tensor")
            raise ValueError(f"tv:{arch} is taken without its auxiliary heads (aux_logits="
                             "False): its training outputs do not pass the classifier cnnlab "
                             "puts on it. For GoogLeNet's auxiliary losses, cnnlab's own "
                             "googlenet takes aux_logits=True")
        if kwargs.get("transform_input") and in_channels != 3:
            # torchvision's forward reads x[:, 1] and x[:, 2]: every forward was an IndexError
            raise ValueError(f"tv:{arch}'s transform_input re-maps 3 ImageNet-normalised "
                             "channels; use transform_input=False for "
                             f"in_channels={in_channels}")
        if num_classes:  # torchvision initialises its own head for this count
            kwargs["num_classes"] = num_classes
        body = torchvision.models.get_model(arch, weights=None, **kwargs)
        head = body.get_submodule(slot)
        if not isinstance(head, nn.Linear):
            raise TypeError(f"expected a Linear at {arch}.{slot}, found {type(head).__name__}; "
                            "this torchvision version moved the classifier")
        replace_submodule(body, slot, nn.Identity())
        self.arch = arch
        self.body = body
        self.num_features = head.in_features
        self.head = head if num_classes else nn.Identity()
        self.unused_weight_prefixes = tuple("body." + p for p in TV_AUX_KEYS.get(arch, ()))
        conv_name = first_conv_name(body)
        conv = body.get_submodule(conv_name)
        if conv.in_channels != in_channels:
            # Random filters of the right shape: cyclic copies keep their distribution.
            idx = torch.arange(in_channels) % conv.in_channels
            replace_submodule(body, conv_name,
                              conv_with_weight(conv, conv.weight.detach()[:, idx]))

    flow_looks_through = ("body",)  # summary's flow line shows torchvision's stages

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(self.body, "transform_input", False) and isinstance(x, torch.Tensor) \
                and not x.is_floating_point():  # (an fx Proxy, traced, has no dtype to ask)
            # Its arithmetic makes floats of 0..255 pixels, and logits of nonsense: refused,
            # so that forward names the conversion (ModelInputError).
            raise ValueError("transform_input takes float input")
        return self.body(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return x if pre_logits else self.head(x)

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        self.head = linear_head(self.num_features, num_classes)


# --- timm -------------------------------------------------------------------------

def _timm_info(arch: str) -> ModelInfo:
    timm = require_extra("timm", "timm", f"{TIMM_PREFIX}{arch}")
    base, _tag = timm.models.split_model_name_tag(arch)
    if not timm.is_model(base):
        close = difflib.get_close_matches(base, timm.list_models(), n=5, cutoff=0.6)
        raise UnknownModelError(f"{TIMM_PREFIX}{arch}", [TIMM_PREFIX + n for n in close],
                                where="timm.list_models() lists them")
    cfg = timm.models.get_pretrained_cfg(arch)
    input_size = tuple(cfg.input_size) if cfg else (3, 224, 224)
    min_size = 32
    if cfg and cfg.min_input_size:
        min_size = cfg.min_input_size[1]
    elif cfg and cfg.fixed_input_size:
        min_size = input_size[1]
    return ModelInfo(
        name=TIMM_PREFIX + arch,
        builder=functools.partial(_build_timm, arch),
        family="timm",
        paper=(cfg.paper_ids or cfg.paper_name or f"timm {base}") if cfg else f"timm {base}",
        input_size=input_size,
        num_classes=(cfg.num_classes or 1000) if cfg else 1000,
        variant="standard",
        min_input_size=min_size,
    )


def _build_timm(arch: str, num_classes: int, in_channels: int, **overrides) -> nn.Module:
    timm = require_extra("timm", "timm", f"{TIMM_PREFIX}{arch}")
    return timm.create_model(arch, pretrained=False, num_classes=num_classes,
                             in_chans=in_channels, **overrides)


# --- reading weights ---------------------------------------------------------------

@dataclass(frozen=True)
class PretrainedWeights:
    """Weights as :func:`read_pretrained` found them, and what is known of their origin."""

    state: dict[str, torch.Tensor]
    source: str  # where they came from, for messages
    recorded: dict | None  # the model_overrides of the cnnlab run whose checkpoint they are
    release: str | None  # the torchvision weights they are, by name or by the hub file's hash


def read_pretrained(info: ModelInfo, weights) -> PretrainedWeights:
    """The weights ``weights`` names: a file, a mapping or a weights name."""
    if isinstance(weights, Mapping):
        return PretrainedWeights(dict(weights), "the given state_dict", None, None)
    text = str(weights)
    path = Path(weights).expanduser()
    if path.exists() or "/" in text or "\\" in text or text.endswith(_WEIGHT_SUFFIXES):
        state, recorded = read_weights_and_overrides(path)
        release = None if recorded is not None else torchvision_release_file(
            info.torchvision_name, path)
        return PretrainedWeights(state, str(path), recorded, release)
    if info.family == "timm":
        return PretrainedWeights(*_timm_weights(info, text), None, None)
    state, source, entry = _torchvision_weights(info, text)
    return PretrainedWeights(state, source, None, entry)


def torchvision_release_file(arch: str | None, path: Path) -> str | None:
    """The torchvision weights (``"GoogLeNet_Weights.IMAGENET1K_V1"``) whose downloaded
    file ``path`` is, or None. Recognised as torch.hub checks a download: the file's
    SHA-256 begins with the hex digits its file name carries (googlenet-1378be20.pth), so
    a renamed copy is recognised and a re-saved or converted one is not. Looked for only
    where the release expects a setting its state_dict cannot say (TV_AUX_KEYS's
    architectures: transform_input), which spares hashing every other file."""
    if arch not in TV_AUX_KEYS or not path.is_file():
        return None
    prefixes = _release_hash_prefixes(arch)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    found = digest.hexdigest()
    return next((entry for prefix, entry in prefixes.items() if found.startswith(prefix)), None)


@functools.cache
def _release_hash_prefixes(arch: str) -> dict[str, str]:
    """{SHA-256 prefix in the file name: weights entry} for torchvision's releases of
    ``arch`` (the catalogue's URLs; nothing is downloaded)."""
    import torchvision

    prefixes = {}
    for entry in torchvision.models.get_model_weights(arch):
        named = re.search(r"-([0-9a-f]{8,})\.[^/]*$", entry.url)  # torch.hub's rule
        if named:
            prefixes[named[1]] = str(entry)
    return prefixes


def _torchvision_weights(info: ModelInfo, tag: str) -> tuple[dict, str, str]:
    """(state_dict, where it came from, the weights entry) for a weights name."""
    import torchvision

    arch = info.torchvision_name
    if arch is None:
        raise ValueError(f"{info.name} has no torchvision weights to download; pass a weights "
                         "file (.safetensors, or .pth holding tensors only)")
    catalogue = torchvision.models.get_model_weights(arch)
    member = tag.split(".")[-1]  # "ResNet18_Weights.IMAGENET1K_V1" or "IMAGENET1K_V1"
    if member not in catalogue.__members__:
        raise ValueError(f"{tag!r} is neither a file nor a weights name of {arch}; names: "
                         f"{', '.join(catalogue.__members__)}")
    entry = catalogue[member]
    try:
        state = torch.hub.load_state_dict_from_url(entry.url, progress=True, check_hash=True,
                                                   weights_only=True)
    except (OSError, RuntimeError) as exc:  # URLError, timeouts, bad hash
        raise WeightsUnavailableError(
            f"cannot fetch {entry} for {info.name} ({exc}). Offline? Pass a local file: on a "
            f"machine with network save it with `python -c \"import torch, torchvision; "
            f"torch.save(torchvision.models.{arch}(weights='{member}').state_dict(), "
            f"'{arch}.pth')\"`, copy {arch}.pth here and pass weights='{arch}.pth' "
            f"(--weights {arch}.pth){_release_setting_advice(arch, entry.url)}. Or put "
            f"torchvision's own download, {entry.url.rsplit('/', 1)[-1]}, in "
            f"{Path(torch.hub.get_dir()) / 'checkpoints'}, where weights={tag!r} finds it"
        ) from exc
    return state, f"torchvision {entry}", str(entry)


def _release_setting_advice(arch: str, url: str) -> str:
    """What the offline advice adds where torchvision builds the model for its release
    with a setting the saved state_dict does not hold (transform_input), so a file saved
    as advised gives torchvision's function, not one near it."""
    if arch not in TV_AUX_KEYS:
        return ""
    return (f". torchvision builds {arch} for these weights with transform_input=True, which "
            "a state_dict does not hold: pass it with the file (get_model(..., "
            f"transform_input=True); for cnnlab train, `model_overrides: {{transform_input: "
            "true}` in a --config file). Or copy the file torchvision downloads, "
            f"{url.rsplit('/', 1)[-1]} (in ~/.cache/torch/hub/checkpoints), which cnnlab "
            "recognises and sets transform_input for")


def _torch_release() -> tuple[int, int]:
    major, minor = torch.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _timm_weights(info: ModelInfo, tag: str) -> tuple[dict, str]:
    timm = require_extra("timm", "timm", info.name)
    arch = info.name[len(TIMM_PREFIX):]
    base, _ = timm.models.split_model_name_tag(arch)
    name = arch if tag.upper() == "DEFAULT" else f"{base}.{tag}"
    if _torch_release() < (2, 6):
        # timm reads a hub repo without a safetensors file with torch.load, and older
        # timm without weights_only: before torch 2.6 that default unpickles (runs code).
        raise WeightsUnavailableError(
            f"fetching timm weights by name needs torch >= 2.6 (this is "
            f"{torch.__version__}), whose torch.load never runs code a file holds; upgrade "
            "torch, or pass a weights file (.safetensors, or a .pth read weights-only)")
    try:
        source = timm.create_model(name, pretrained=True)
    except Exception as exc:  # hub, network and unknown-tag errors all mean "not here"
        raise WeightsUnavailableError(
            f"cannot fetch timm weights {name!r} ({exc}). Offline? On a machine with network "
            f"save them with `timm.create_model({name!r}, pretrained=True)` and "
            "safetensors.torch.save_file(model.state_dict(), 'weights.safetensors'), then "
            "pass that file"
        ) from exc
    return source.state_dict(), f"timm {name}"


# --- finding and replacing layers (TorchvisionNet and transfer learning) -------------

def conv_with_weight(conv: nn.Conv2d, weight: torch.Tensor) -> nn.Conv2d:
    """A copy of ``conv`` (stride, padding, bias ...) taking ``weight.shape[1]`` inputs."""
    if conv.groups != 1:
        raise ValueError("cannot change the input channels of a grouped first convolution")
    new = nn.Conv2d(weight.shape[1], conv.out_channels, conv.kernel_size, conv.stride,
                    conv.padding, conv.dilation, bias=conv.bias is not None,
                    padding_mode=conv.padding_mode, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def first_conv_name(model: nn.Module) -> str | None:
    """The convolution that reads the image (timm records it; else :func:`first_conv`)."""
    named = getattr(model, "pretrained_cfg", None) or {}
    first = named.get("first_conv") if isinstance(named, dict) else None
    if isinstance(first, str):
        return first
    found = first_conv(model)
    return found[0] if found else None


def classifier_name(model: nn.Module) -> str | None:
    """Module name of ``model.get_classifier()``, or None when it has none."""
    try:
        head = model.get_classifier()
    except (AttributeError, NotImplementedError):
        return None
    return next((n for n, m in model.named_modules() if m is head and n), None)
