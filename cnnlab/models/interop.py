"""Weights between cnnlab and torchvision, and checked loading of any state_dict.

Standard variants keep torchvision's module names wherever possible, so most key
maps are the identity; where a family's names differ, its registry entry carries a
``torchvision_key_map`` (torchvision key -> cnnlab key) and everything here goes
through it. Loading never unpickles code: safetensors, or ``torch.load`` with
``weights_only=True`` for foreign ``.pth`` files.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from cnnlab.models._base import first_conv, replace_submodule
from cnnlab.models._errors import TORCHSCRIPT, why_torch_load_failed
from cnnlab.models._registry import get_model, list_models, model_info, model_on_meta, on_meta


class WeightsMismatchError(ValueError):
    """A state_dict that does not fit a model; the message lists the keys that differ."""

    def __init__(self, target: str, source: str, missing: list[str], unexpected: list[str],
                 wrong_shape: list[tuple[str, tuple, tuple]]):
        self.missing, self.unexpected, self.wrong_shape = missing, unexpected, wrong_shape
        lines = [f"weights from {source} do not fit {target}:"]
        lines += _listing("missing from the weights", missing)
        lines += _listing("not in the model", unexpected)
        lines += _listing(
            "different shape (model vs weights)",
            [f"{k}: {tuple(a)} vs {tuple(b)}" for k, a, b in wrong_shape],
        )
        lines.append("Were these weights saved from another architecture or number of classes?")
        super().__init__("\n".join(lines))


def _listing(title: str, items: list[str], limit: int = 8) -> list[str]:
    if not items:
        return []
    shown = [f"  - {i}" for i in items[:limit]]
    if len(items) > limit:
        shown.append(f"  ... and {len(items) - limit} more")
    return [f"{len(items)} key(s) {title}:", *shown]


def load_state_dict_checked(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "the given weights"
) -> nn.Module:
    """``model.load_state_dict`` strictly, but with an error that says which keys differ.

    A batch norm's ``num_batches_tracked`` may be absent beside its ``running_mean``:
    weights saved before PyTorch 0.4.1 lack it (torchvision's released DenseNet and
    VGG-BN files among them), and PyTorch loads them with a count of 0; so does this."""
    own = model.state_dict()
    state_dict = _with_batch_counts(own, state_dict)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong_shape = [
        (k, own[k].shape, state_dict[k].shape)
        for k in own
        if k in state_dict and own[k].shape != state_dict[k].shape
    ]
    if missing or unexpected or wrong_shape:
        target = getattr(model, "cnnlab_name", type(model).__name__)
        raise WeightsMismatchError(target, source, missing, unexpected, wrong_shape)
    model.load_state_dict(state_dict, strict=True)
    return model


def _with_batch_counts(own: Mapping[str, torch.Tensor],
                       state_dict: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    """``state_dict`` with a 0 count for each batch norm that has its running statistics
    but no ``num_batches_tracked`` (see :func:`load_state_dict_checked`)."""
    suffix = "num_batches_tracked"
    absent = [k for k in own if k.endswith(suffix) and k not in state_dict
              and k[:-len(suffix)] + "running_mean" in state_dict]
    if not absent:
        return state_dict
    filled = OrderedDict(state_dict)
    filled._metadata = getattr(state_dict, "_metadata", None)  # versions some modules read
    filled.update({k: torch.zeros((), dtype=own[k].dtype) for k in absent})
    return filled


def read_weights_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a foreign ``.pth``/``.pt`` (weights only).

    A ``.pth`` holding ``{"state_dict": ...}`` or ``{"model": ...}`` (common training
    checkpoints) is unwrapped, and so is a cnnlab training checkpoint, so a run's
    checkpoint can start another run: with the weights its run evaluated (``ema.*`` or
    Lookahead's ``eval.*`` in a ``last`` file, else ``model.*``), as ``cnnlab eval`` and
    ``predict`` do, so the new run starts from the accuracy the report gives.
    """
    return read_weights_and_overrides(path)[0]


def read_weights_and_overrides(path: str | Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """:func:`read_weights_file`'s tensors, and the ``model_overrides`` of the cnnlab run
    whose checkpoint ``path`` is ({} when none; None for any other file). A checkpoint is
    read by cnnlab.train.checkpoint, once, so its weights and its run's settings come
    from the same write even while the run replaces the file."""
    path = Path(path)
    if path.is_dir():  # a run's folder, most likely: its checkpoint is the file meant
        best = path / "checkpoints" / "best.safetensors"
        hint = f"; a run's weights are in {best}" if best.is_file() else ""
        raise FileNotFoundError(f"{path} is a folder, not a weights file{hint}")
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        # Imported here: cnnlab.models does not depend on cnnlab.train to load.
        from cnnlab.train import checkpoint as ckpt

        if ckpt.is_checkpoint(path):  # also holds optimizer, EMA and RNG state
            return ckpt.weights_from_checkpoint(path)
        from safetensors.torch import load_file

        try:
            return load_file(str(path)), None
        except Exception as exc:  # SafetensorError is not a ValueError: name the file
            raise ValueError(
                f"{path}: not a readable .safetensors file ({exc}); a damaged or "
                "truncated copy, or another format named .safetensors") from None
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read as a weights file: {exc.strerror or exc}") \
            from None
    # torch.save writes a zip archive (or, before PyTorch 1.6, a protocol-2 pickle, which
    # begins with 0x80). Anything else is named here: torch.load reads text as pickle
    # opcodes and names the first letters as a refused global ("GLOBAL lass ...").
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise ValueError(
            f"{path}: cannot read as a weights file: it is not a PyTorch file (it begins "
            f"with {head!r}, neither a zip archive nor a pickle). cnnlab reads .safetensors, "
            "or .pth/.pt files written by torch.save.")
    try:
        if head.startswith(b"PK") and _is_torchscript(path):
            # torch 2.4's torch.load hands such an archive to torch.jit.load even with
            # weights_only=True (the code loaded, and the module it gave was refused as
            # "expected a mapping"); newer torch refuses it. Refused here before either.
            raise ValueError(TORCHSCRIPT)
        with warnings.catch_warnings():  # torch's "looks like a TorchScript archive": said
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused or corrupt file
        damaged = head.startswith(b"PK") and not _zip_reads(path)
        why = why_torch_load_failed(exc, damaged=damaged)
        fix = (" A model saved whole (torch.save(model)), as TorchScript (torch.jit.save) or "
               "beside other objects holds code to run: where it was made, save its tensors "
               "alone with torch.save(model.state_dict(), PATH) and pass that file."
               ) if why.startswith(("it holds more", "a TorchScript")) else ""
        raise ValueError(
            f"{path}: cannot read as a weights file: {why}. cnnlab reads .safetensors, or "
            ".pth/.pt files holding only tensors (loaded with weights_only=True, never "
            f"code).{fix}"
        ) from None
    for wrapper in ("state_dict", "model", "model_state_dict", "model_state"):  # last: pycls
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    return _tensors_in(obj, path), None


def _tensors_in(obj, path: Path) -> dict[str, torch.Tensor]:
    """``obj``'s mapping of names to tensors: itself, or the one such mapping it holds
    beside plain values, under a name of its owner's choosing (pytorch-cifar saves
    ``{"net": ..., "acc": ..., "epoch": ...}``). Else an error saying what it holds."""
    def is_weights(value) -> bool:
        return isinstance(value, dict) and all(isinstance(v, torch.Tensor)
                                               for v in value.values())

    if is_weights(obj):
        return obj
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a mapping of parameter names to tensors; it "
                         f"holds a {type(obj).__name__}, not a mapping")
    sets = [k for k, v in obj.items() if is_weights(v) and v]
    # A number kept as a 0-dim tensor beside them (an accuracy computed on tensors) is no
    # weight; a larger tensor may be one, and then no set is picked.
    loose = any(isinstance(v, torch.Tensor) and v.dim() for v in obj.values())
    if len(sets) == 1 and not loose:
        return obj[sets[0]]
    if len(sets) > 1 and not loose:
        raise ValueError(
            f"{path}: it holds {len(sets)} sets of weights ({', '.join(map(repr, sets[:-1]))} "
            f"and {sets[-1]!r}), and cnnlab cannot tell which is meant: save that one alone, "
            f"e.g. torch.save(torch.load({str(path)!r}, weights_only=True)[{sets[0]!r}], "
            "'weights.pth'), and pass that file")
    held = ", ".join(f"{k!r} ({type(v).__name__})" for k, v in list(obj.items())[:6])
    more = f" and {len(obj) - 6} more" if len(obj) > 6 else ""
    raise ValueError(f"{path}: expected a mapping of parameter names to tensors; it holds "
                     f"{held}{more}")


def _is_torchscript(path: Path) -> bool:
    """Whether ``path``'s zip archive is TorchScript's (torch.jit.save): as torch.load
    tells, by a ``constants.pkl`` in its top folder, which torch.save never writes."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.split("/", 1)[-1] == "constants.pkl" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False  # damaged: torch.load's error says so


def _zip_reads(path: Path) -> bool:
    """Whether ``path``'s zip archive (torch.save's format) opens and lists whole."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
        return True
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def best_named(state: Mapping[str, torch.Tensor], own_keys, key_maps=()) -> dict:
    """``state`` under the names that most of ``own_keys`` (a model's state_dict keys)
    match: as they are, through one of ``key_maps``, or with a first name component
    that every key shares taken off, as often as all keys share one, and then mapped.
    Training wrappers save their model's keys behind such a prefix: DDP's ``module.``,
    torch.compile's ``_orig_mod.``, a Lightning module's attribute (``model.``). A
    prefix is taken off only where more keys then match, so weights that still do not
    fit are reported under the names nearest the model's."""
    own = set(own_keys)
    maps = [None, *key_maps]
    best, matched = dict(state), sum(k in own for k in state)
    candidate = dict(state)
    while True:
        for key_map in maps:
            named = candidate if key_map is None else {key_map(k): v
                                                       for k, v in candidate.items()}
            found = sum(k in own for k in named)
            if found > matched:
                best, matched = named, found
        first = {k.split(".", 1)[0] for k in candidate}
        if len(first) != 1 or not all("." in k for k in candidate):
            return best
        candidate = {k.split(".", 1)[1]: v for k, v in candidate.items()}


def torchvision_builder_name(name: str) -> str:
    info = model_info(name)
    if info.torchvision_name is None:
        have = [n for n in list_models() if model_info(n).torchvision_name]
        raise ValueError(
            f"{name!r} has no torchvision counterpart; models that do: {', '.join(have)}"
        )
    return info.torchvision_name


def torchvision_to_cnnlab(name: str, state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Rename a torchvision state_dict's keys to those of cnnlab model ``name``."""
    key_map = model_info(name).torchvision_key_map or (lambda k: k)
    return {key_map(k): v for k, v in state_dict.items()}


def cnnlab_to_torchvision(name: str, state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Inverse of :func:`torchvision_to_cnnlab`, derived from the forward map.

    The inverse is computed from torchvision's own key list rather than written by
    hand, so the two directions cannot drift apart.
    """
    info = model_info(name)
    if info.torchvision_key_map is None:
        return dict(state_dict)
    tv_keys = _torchvision_probe(torchvision_builder_name(name)).state_dict()
    inverse = {info.torchvision_key_map(k): k for k in tv_keys}
    return {inverse.get(k, k): v for k, v in state_dict.items()}


def to_torchvision(source: nn.Module | Mapping[str, torch.Tensor] | str | Path,
                   name: str | None = None) -> nn.Module:
    """A torchvision model carrying cnnlab weights: :func:`from_torchvision`'s way back.

    ``source`` is a cnnlab model (``get_model``, ``load_run(RUN).model``), a run's folder
    (its best checkpoint), a cnnlab checkpoint or weights file, or a state_dict; ``name``
    (``"resnet18"``) is needed only for a state_dict or a plain weights file. The model is
    ``torchvision.models.get_model`` of the counterpart, built for the weights' number of
    classes; weights for other than 3 input channels (a Fashion-MNIST run's 1) get a first
    convolution of that many, as cnnlab's ``in_channels`` builds it. Every value is
    loaded strictly: keys that differ are named (:class:`WeightsMismatchError`); the model
    is returned in eval mode."""
    import torchvision

    from cnnlab.models.pretrained import TorchvisionNet, torchvision_classifier

    transform_input = False  # a model option weights alone do not carry (a run's do)

    if isinstance(source, TorchvisionNet):  # tv:NAME is torchvision's, its classifier taken
        model = copy.deepcopy(source.body)  # out (an Identity in its place): put back
        replace_submodule(model, torchvision_classifier(source.cnnlab_name[3:]),
                          copy.deepcopy(source.head))
        return model.eval()
    if isinstance(source, nn.Module):
        name = name or getattr(source, "cnnlab_name", None)
        transform_input = bool(getattr(source, "transform_input", False))
        state, label = source.state_dict(), f"cnnlab {name}"
    elif isinstance(source, (str, Path)) and Path(source).is_dir():
        from cnnlab.train.run import load_run  # train is not loaded by models otherwise

        return to_torchvision(load_run(source, device="cpu").model)
    elif isinstance(source, (str, Path)):
        from cnnlab.train import checkpoint as ckpt

        if ckpt.is_checkpoint(Path(source)):  # it names its model
            name = name or ckpt.read_state(Path(source)).get("model_name")
        # A run's checkpoint keeps its model options: GoogLeNet from ImageNet weights
        # normalises its input itself (transform_input), or the logits differ by thousands
        state, overrides = read_weights_and_overrides(source)
        transform_input = bool((overrides or {}).get("transform_input", False))
        label = str(source)
    else:
        state, label = dict(source), "the given state_dict"
    if name is None:
        raise ValueError("to_torchvision: give name= (the cnnlab model the weights are "
                         "of, e.g. name='resnet18'): a state_dict or weights file does not "
                         "say which it is")
    tv_name = torchvision_builder_name(name)
    state = cnnlab_to_torchvision(name, state)
    probe = _torchvision_probe(tv_name)
    extra = {"aux_logits": any(k.startswith("aux1.") for k in state),
             "init_weights": False} if tv_name == "googlenet" else {}
    shapes = _classes_and_channels(probe, state)
    with warnings.catch_warnings():  # googlenet's note on its weight initialisation
        warnings.simplefilter("ignore", UserWarning)
        model = torchvision.models.get_model(
            tv_name, num_classes=shapes.get("num_classes", 1000), **extra)
    conv = first_conv(model)
    if conv is not None and shapes.get("in_channels", 3) != conv[1].in_channels:
        old = conv[1]
        replace_submodule(model, conv[0], nn.Conv2d(
            shapes["in_channels"], old.out_channels, old.kernel_size, old.stride,
            old.padding, old.dilation, old.groups, bias=old.bias is not None))
    if transform_input:
        model.transform_input = True
    return load_state_dict_checked(model, state, source=label).eval()


def _torchvision_probe(tv_name: str) -> nn.Module:
    """torchvision's ``tv_name`` for its names and shapes: on the meta device (no weights
    allocated or drawn) where its builder allows."""
    import torchvision

    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # googlenet's on its initialisation
            return torchvision.models.get_model(tv_name)
    except NotImplementedError:  # a builder that computes with tensors while constructing
        return torchvision.models.get_model(tv_name)


def from_torchvision(
    source: nn.Module | Mapping[str, torch.Tensor] | str | Path, name: str, **overrides
) -> nn.Module:
    """A cnnlab model ``name`` carrying torchvision weights.

    ``source`` is a torchvision model, its state_dict, or a weights file saved from
    one. The number of classes and input channels are read off the weights, so a
    fine-tuned torchvision model with 10 outputs converts as it is. GoogLeNet's
    ``transform_input`` is the model's own where ``source`` is one; weights alone do
    not hold it, and are treated as ``get_model(name, weights=...)`` treats them
    (:func:`cnnlab.models.transfer.transform_input_as_the_weights`).
    """
    if isinstance(source, nn.Module):
        state = source.state_dict()
        label = f"torchvision {type(source).__name__}"
        # Built for torchvision's release, it re-maps its input: the copy must too.
        if getattr(source, "transform_input", False):
            overrides.setdefault("transform_input", True)
    elif isinstance(source, (str, Path)):
        state = read_weights_file(source)
        label = str(source)
    else:
        state = dict(source)
        label = "the given state_dict"
    key_map = model_info(name).torchvision_key_map
    state = best_named(state, model_on_meta(name, **overrides).state_dict(),
                       [key_map] if key_map else [])
    if overrides.get("aux_logits") is None and any(k.startswith("aux1.") for k in state):
        overrides["aux_logits"] = True  # GoogLeNet weights saved with their aux heads
    probe = model_on_meta(name, **overrides)  # shapes only: no weights drawn
    shapes = _classes_and_channels(probe, state)
    model = model_to_load(name, **{**shapes, **overrides})
    load_state_dict_checked(model, state, source=label)
    if not isinstance(source, nn.Module) and "transform_input" not in overrides:
        from cnnlab.models.pretrained import PretrainedWeights, torchvision_release_file
        from cnnlab.models.transfer import transform_input_as_the_weights

        info = model_info(name)
        release = torchvision_release_file(info.torchvision_name, Path(source)) \
            if isinstance(source, (str, Path)) else None
        transform_input_as_the_weights(model, info, PretrainedWeights(state, label, None,
                                                                      release), state)
    return model


def model_to_load(name: str, **kwargs) -> nn.Module:
    """``get_model(name, **kwargs)`` with its memory allocated but its weights not drawn,
    for a strict load (:func:`load_state_dict_checked`) that sets every value: drawing
    VGG-16's 138M weights takes over a second on one thread (from_torchvision drew them
    twice: 2.7 s, now 0.3 s; BENCHMARKS.md).
    Built as usual where that is not safe: a builder the meta device cannot run
    (:func:`model_on_meta`), a buffer left out of the state_dict (``persistent=False``)
    or a tensor kept as a plain attribute (no load sets them), parameters shared between
    modules (``to_empty`` would part them)."""
    model = model_on_meta(name, **kwargs)
    if not on_meta(model):
        return model
    saved = model.state_dict().keys()
    unsaved_buffer = any(key not in saved for key, _ in model.named_buffers())
    plain_tensor = any(isinstance(v, torch.Tensor) for m in model.modules()
                       for v in vars(m).values())
    shared = len(list(model.named_parameters(remove_duplicate=False))) != len(
        list(model.named_parameters()))
    if unsaved_buffer or plain_tensor or shared:
        return get_model(name, **kwargs)
    return model.to_empty(device="cpu")


def _classes_and_channels(model: nn.Module, state: Mapping[str, torch.Tensor]) -> dict:
    """num_classes / in_channels implied by ``state`` for this architecture."""
    out = {}
    own = model.state_dict()
    conv = first_conv(model)
    if conv is not None and f"{conv[0]}.weight" in state:
        out["in_channels"] = state[f"{conv[0]}.weight"].shape[1]
    last_linear = [k for k, v in own.items() if k.endswith("weight") and v.ndim == 2]
    if last_linear and last_linear[-1] in state:
        out["num_classes"] = state[last_linear[-1]].shape[0]
    return out
