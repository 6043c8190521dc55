"""An exported ONNX model read back, for ``cnnlab predict``: the graph checked against
its sidecar (checksums, weights kept beside it), run by onnxruntime, with the classes,
preprocessing and test-time views of the run it came from. Writing one is
:mod:`cnnlab.export`'s.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnlab.export import ExportError
from cnnlab.export_files import SIDECAR_FORMAT, data_file, onnx_session, sha256
from cnnlab.extras import MissingExtraError
from cnnlab.interrupts import interrupt_wins
from cnnlab.train.evaluate import Preprocess, check_tta_shift
from cnnlab.train.machine import usable_cores as _usable_cores
from cnnlab.train.run_files import NotARunError


class OnnxModel:
    """Calls an ONNX classifier like a module: float tensor N x C x H x W -> logits."""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        self.session = onnx_session(self.path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # Asked first: the float32 conversion took uint8 pixels (0..255) as they were, into
        # logits of nonsense, where a PyTorch model refuses them (ModelInputError).
        if x.dim() == 3:  # told apart by the channels it takes, as a PyTorch model's is
            from cnnlab.inspect._input import unbatched_fix  # (loads the models: not here)

            takes = self.session.get_inputs()[0].shape[1]
            self._refuse(x, unbatched_fix(tuple(x.shape), takes if isinstance(takes, int)
                                          else None, None))
        if x.dim() != 4 or not x.is_floating_point():
            self._refuse(x, None)
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        try:
            return torch.from_numpy(self.session.run(None, {self.input_name: array})[0])
        except Exception:  # onnxruntime's InvalidArgument: "Got invalid dimensions ..."
            self._refuse(x, self._shape_hint(tuple(x.shape[1:])))
            raise

    def _refuse(self, x: torch.Tensor, hint: str | None) -> None:
        """A ModelInputError naming ``x`` and ``hint`` (or the batch's own fix), if any."""
        # (cnnlab.models loads every family: not for a prediction that goes well)
        from cnnlab.models._base import ModelInputError, described, layout_hint

        hint = hint or layout_hint(x)
        if hint is not None:  # onnxruntime's words add nothing to it
            raise ModelInputError(f"{self.path.name} cannot take this input, {described(x)}: "
                                  f"{hint}") from None

    def _shape_hint(self, sample: tuple[int, ...]) -> str | None:
        """What differs between one sample's (C, H, W) and the export's; None if nothing."""
        takes = tuple(self.session.get_inputs()[0].shape[1:])  # fixed by cnnlab export
        if sample == takes or not all(isinstance(n, int) for n in takes):
            return None
        size = "x".join(map(str, takes))
        if sample == (*takes[1:], takes[0]):
            return (f"it takes {size} (C, H, W), and this looks channels-last (N, H, W, C): "
                    "give x.permute(0, 3, 1, 2)")
        return (f"it takes {size} (C, H, W) images, as the run it was exported from did: "
                "prepare them as predict_image does (open_for_prediction(...).preprocess)")


@dataclass
class OnnxRun:
    """An exported model with what predict needs (the same fields as a loaded run)."""

    path: Path
    model: OnnxModel
    classes: list[str]
    preprocess: Preprocess
    meta: dict

    @property
    def tta(self) -> tuple[bool, int]:
        """(flip, shift) of the run it was exported from (none for older exports)."""
        views = self.meta.get("tta") or {}
        return bool(views.get("flip", False)), int(views.get("shift", 0))

    @property
    def data(self) -> str:
        """The dataset of the run it was exported from ("" for older exports)."""
        return str(self.meta.get("data", ""))

    @property
    def decoded_size(self) -> tuple[int, int] | None:
        """The (height, width) a folder's images were decoded at for data given to
        ``train()`` from Python, as the run's data.json said; None: the model's size."""
        size = self.meta.get("decoded_size")
        if isinstance(size, list) and len(size) == 2 and all(
                type(n) is int and n > 0 for n in size):
            return size[0], size[1]
        return None


def load_onnx(path: str | Path, threads: int | None = None) -> OnnxRun:
    """An exported ``.onnx`` file and its JSON sidecar (classes, preprocessing), run on
    ``threads`` CPU threads (None: onnxruntime's choice)."""
    if threads is not None:
        # onnxruntime's own refusal of 2.5 was read below as a damaged file. A NumPy
        # integer (a count worked out with NumPy) is a whole number too; True is no count.
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) \
                or threads < 1:
            raise ValueError(f"threads={threads!r}: a whole number of CPU threads, 1 or "
                             "more (None: onnxruntime's choice, one per core)")
        threads = int(threads)
        _say_too_many_threads(threads)
    # Either missing, the path given is no cnnlab export: a request to change (exit 2),
    # as `predict` says of a path that is no run's folder. (A FileNotFoundError too.)
    path = Path(path)
    if not path.is_file():
        raise NotARunError(f"ONNX file not found: {path}")
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        raise NotARunError(
            f"{sidecar} is missing: cnnlab reads the classes and preprocessing of {path.name} "
            "from it. Export with `cnnlab export RUN --format onnx`, which writes both"
        )
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        if meta.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}, not {SIDECAR_FORMAT!r}")
        pp = Preprocess.from_dict(meta["preprocess"])
        classes = list(meta["classes"])
        views = meta.get("tta") or {}
        if not isinstance(views, dict) or not isinstance(views.get("flip", False), bool) \
                or type(views.get("shift", 0)) is not int:
            raise ValueError(f"tta is {views!r}, not {{'flip': true/false, 'shift': N}}")
        check_tta_shift(views.get("shift", 0), pp.image_size)  # as a run's is checked
        if pp.std is not None and not all(s > 0 for s in pp.std):
            raise ValueError(f"preprocess std is {list(pp.std)}: every one must be positive")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{sidecar}: not a cnnlab ONNX sidecar ({exc})") from None
    data_sum = meta.get("onnx_data_sha256")
    data_differs = data_sum is not None and (not data_file(path).is_file()
                                             or data_sum != sha256(data_file(path)))
    if meta.get("onnx_sha256") not in (None, sha256(path)) or data_differs:
        # (exports made before the checksums carry none, and are not checked)
        raise ExportError(f"{path} does not match its sidecar {sidecar.name} (the checksum "
                          "differs): the file is damaged, or the two come from different "
                          "exports. Export the run again (it writes both)")
    with interrupt_wins():  # onnx and onnxruntime load here: seconds, the first time
        _check_external_data(path)
        model = _open(path, threads)
    takes = model.session.get_inputs()[0].shape[1:]  # (C, H, W); a name where dynamic
    wants = [pp.channels, pp.image_size, pp.image_size]
    if any(isinstance(t, int) and t != w for t, w in zip(takes, wants, strict=False)):
        raise ExportError(f"{path} takes {'x'.join(map(str, takes))} inputs but its sidecar "
                          f"{sidecar.name} prepares {'x'.join(map(str, wants))} ones: they "
                          "come from different exports. Export the run again (it writes both)")
    outputs = model.session.get_outputs()[0].shape[-1]
    if isinstance(outputs, int) and outputs != len(classes):
        raise ExportError(f"{path} gives {outputs} scores but its sidecar {sidecar.name} names "
                          f"{len(classes)} classes: they come from different exports. "
                          "Export the run again (it writes both)")
    return OnnxRun(path, model, classes, pp, meta)


def _say_too_many_threads(threads: int) -> None:
    """Warn a caller from Python (open_for_prediction, load_onnx) of more threads than the
    process's cores: onnxruntime's threads spin while they wait, and 32 on 2 cores
    classified 27x slower; `cnnlab predict` said so, a script was told nothing. The
    command says it in its own words (--threads), once."""
    from cnnlab.train.machine import cnnlab_program

    cores = _usable_cores()
    if threads <= cores or cnnlab_program():
        return
    from cnnlab.formatting import counted
    from cnnlab.notices import SetupWarning, warn_user

    warn_user(f"threads={threads}, but this machine gives this process "
              f"{counted(cores, 'core')}: onnxruntime then runs many times slower; "
              f"threads={cores}{' or fewer' if cores > 1 else ''}", SetupWarning)


def _open(path: Path, threads: int | None) -> OnnxModel:
    try:
        return OnnxModel(path, threads)
    except MissingExtraError:
        raise
    except Exception as exc:  # onnxruntime's own errors (InvalidProtobuf, Fail, ...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "escapes model directory" in str(exc):  # recent onnxruntime follows symlinks
            raise ExportError(f"{path}: onnxruntime refuses its weights file, which resolves "
                              f"outside the model's folder ({reason}); a symlink into a blob "
                              "store? Copy the weights beside the model") from None
        raise ExportError(f"{path}: onnxruntime cannot load it ({reason}). Is it a whole "
                          "file from `cnnlab export`? Export the run again") from None


def _check_external_data(path: Path) -> None:
    """Weights kept beside the graph must lie in its folder: a location that is absolute
    or climbs out (``../``) would read another file (onnxruntime refuses these in recent
    releases; this does not depend on which one is installed)."""
    try:
        import onnx
    except ImportError:  # predict needs onnxruntime only; it checks what it can
        return
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # not a model: onnxruntime says so next, in its words
        return
    graphs = [model.graph, *model.functions]  # a local function's body is a node list too
    for tensor in (t for graph in graphs for t in _all_tensors(graph)):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        # Judged by the name (onnxruntime, in recent releases, also resolves symlinks and
        # refuses weights that lead elsewhere; load_onnx names that case).
        normal = os.path.normpath(location)
        if os.path.isabs(location) or normal == ".." or normal.startswith(".." + os.sep):
            raise ExportError(f"{path}: its weights {tensor.name!r} point outside its folder "
                              f"({location!r}); cnnlab reads only files beside the model")


def _all_tensors(graph):
    """Every tensor a graph (or a function) holds: initializers, sparse ones' values and
    indices, and the tensors of node attributes (Constant values), in subgraphs too
    (If, Loop, Scan bodies)."""
    yield from getattr(graph, "initializer", ())  # a FunctionProto has none
    for sparse in getattr(graph, "sparse_initializer", ()):
        yield from (sparse.values, sparse.indices)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield from (attribute.sparse_tensor.values, attribute.sparse_tensor.indices)
            for sparse in attribute.sparse_tensors:
                yield from (sparse.values, sparse.indices)
            if attribute.HasField("g"):
                yield from _all_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _all_tensors(subgraph)
