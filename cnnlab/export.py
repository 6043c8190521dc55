"""Export a trained run for inference outside PyTorch: ONNX, checked with onnxruntime.

:func:`export_onnx` reads a run directory (model, classes, preprocessing), exports
the model with a dynamic batch axis, runs the file with onnxruntime on random
batches and compares the logits with PyTorch's. The file is written under a temporary
name and replaces an earlier export only once it agrees within ``atol + rtol * (the
largest |logit|)`` (:func:`allowed_difference`), so an unverified model is never left
where ``predict`` would find it, and a failed re-export keeps the previous one. Ctrl-C
stops the export at any point and leaves nothing of it under the real name. A JSON
sidecar beside ``model.onnx`` records the classes and the input preprocessing, so
``cnnlab predict model.onnx IMAGE`` needs nothing else
(:mod:`cnnlab.onnx_run` reads the pair back; :mod:`cnnlab.export_files` names the files).

onnx, onnxruntime and onnxscript are the optional extra ``pip install 'cnnlab[onnx]'``.
An ONNX file is a protobuf graph of operators and tensors: loading one runs no code.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnlab import atomic
from cnnlab.atomic import first_missing_folder, fsync_file, fsync_folder, remove_empty_folders_made
from cnnlab.export_files import (
    INPUT_NAME,
    OUTPUT_NAME,
    data_file,
    export_source,
    onnx_session,
    opset_range,
    quiet_exporter,
    read_sidecar,
    write_sidecar,
)
from cnnlab.extras import require_extra
from cnnlab.formatting import rounded_repr
from cnnlab.interrupts import SigintRecorder, interrupt_wins
from cnnlab.train.config import ConfigError
from cnnlab.train.outcome import run_folder

FORMATS = ("onnx",)
# protobuf caps a single file at 2 GiB; bigger models keep their weights beside it.
_EXTERNAL_DATA_BYTES = 1_800_000_000


class ExportError(ValueError):
    """The model could not be exported, or the exported file did not match PyTorch."""


class ExportRequestError(ExportError, ConfigError):
    """The export was asked for something invalid (a format, a tolerance, an opset, an
    --out it will not write); the command line exits 2 for it, as for any such request."""


class ExportInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the export; the message says what is at the output path."""


@dataclass(repr=False)
class ExportResult:
    """What :func:`export_onnx` wrote and measured: the ``.onnx`` file at ``path``, its JSON
    ``sidecar``, the ``exporter`` and ``opset`` that made it, and ``max_abs_diff`` (batch
    size -> max |onnxruntime - PyTorch| logit), accepted up to :attr:`tolerance`, made of
    ``atol``, ``rtol`` and ``logit_scale``; the ``input_shape`` (C, H, W) and ``classes``
    the sidecar records; ``replaced``: the source of another export replaced (else None)."""

    path: Path
    sidecar: Path
    exporter: str  # "torch.export" (dynamo) or "torchscript"
    opset: int | None
    max_abs_diff: dict[int, float]  # batch size -> max |onnxruntime - PyTorch| over logits
    atol: float
    input_shape: tuple[int, int, int]
    classes: list[str] = field(default_factory=list)
    rtol: float = 0.0
    logit_scale: float = 0.0  # the largest |logit| PyTorch gave the checked batches
    replaced: dict | None = None  # the source (run, checkpoint) of another export replaced

    __repr__ = rounded_repr  # max_abs_diff's 1.4901161193847656e-08s, to 4 figures

    @property
    def worst_diff(self) -> float:
        """The largest of ``max_abs_diff``: the check's verdict, against ``tolerance``."""
        return max(self.max_abs_diff.values())

    @property
    def tolerance(self) -> float:
        """The difference accepted: ``atol + rtol * logit_scale``."""
        return allowed_difference(self.atol, self.rtol, self.logit_scale)


def allowed_difference(atol: float, rtol: float, logit_scale: float) -> float:
    """``atol + rtol * logit_scale``: the largest logit difference an export may have."""
    # Relative to the largest logit, not to each: float32 rounding in a network's sums
    # follows the size of what is summed, so a small logit of a model whose logits reach
    # 2e4 is off by as much as its large ones (2e4 x 3e-7 = 0.006, against atol 1e-4).
    return atol + rtol * logit_scale


def export_run(run_dir: str | os.PathLike[str], format: str | None = None, *,
               fmt: str | None = None, **options) -> ExportResult:
    """Export a run (``run_dir``: its folder, or the TrainResult ``train()`` returned) in
    ``format``, as ``cnnlab export --format`` does: only ``"onnx"`` so far, the default.
    The other keywords (``options``) are :func:`export_onnx`'s: ``out``, ``which``,
    ``atol``, ``rtol``, ``opset``, ``batch_sizes``. ``fmt`` is ``format``'s earlier name,
    still taken. Returns the ExportResult; raises what export_onnx raises."""
    run_dir = run_folder(run_dir, "export_run")
    if format is not None and fmt is not None and format != fmt:
        raise ExportRequestError(f"format={format!r} and fmt={fmt!r}: fmt is format's earlier "
                                 "name; give format alone")
    chosen = format or fmt or "onnx"
    if chosen not in FORMATS:
        raise ExportRequestError(f"unknown export format {chosen!r} (--format, format=); "
                                 f"formats: {', '.join(FORMATS)}")
    # Checked here: passed on, a stray keyword was "export_onnx() got an unexpected
    # keyword argument", naming a function the caller had not called.
    taken = [name for name in inspect.signature(export_onnx).parameters if name != "run_dir"]
    for name in options:
        if name not in taken:
            raise TypeError(f"export_run() has no keyword {name!r}: it takes format and "
                            f"{', '.join(taken)}")
    return export_onnx(run_dir, **options)


def export_onnx(run_dir: str | os.PathLike[str], out: str | Path | None = None, which: str = "best",
                atol: float = 1e-4, opset: int | None = None,
                batch_sizes: tuple[int, ...] = (1, 2, 3), rtol: float = 1e-5) -> ExportResult:
    """Export a run's model to ONNX, verify it with onnxruntime; the ExportResult.

    Args:
        run_dir: a run directory written by ``cnnlab train`` (or the TrainResult
            ``train()`` returned).
        out: the ``.onnx`` file to write (default ``run_dir/export/model.onnx``); the
            sidecar is the same path with ``.json``.
        which: ``"best"`` or ``"last"`` checkpoint.
        atol, rtol: the largest max absolute logit difference (onnxruntime vs PyTorch)
            accepted is ``atol + rtol * (the largest |logit| PyTorch gave)``.
        opset: ONNX opset; None lets the exporter choose.
        batch_sizes: random batches checked, each at a size other than the traced one
            where possible, so a batch axis frozen by the exporter is caught.

    Raises:
        MissingExtraError: onnx / onnxruntime / onnxscript are not installed.
        ExportError: export failed, or the file disagrees with PyTorch.
    """
    from cnnlab.train.run import check_which, load_run
    from cnnlab.train.run_files import check_run_folder

    # Every option is checked before the (slow) export, and before anything is written;
    # the run first (`export grid.png` was told its default --out could not be written).
    run_dir = run_folder(run_dir, "export_onnx")  # a TrainResult stands for its folder
    check_run_folder(run_dir)
    check_which(which)
    for flag, value, default in (("--atol", atol, "1e-4"), ("--rtol", rtol, "1e-5")):
        if not value >= 0:  # also refuses NaN
            raise ExportRequestError(f"{flag} {value:g}: a tolerance must be >= 0 (the "
                                     f"default is {default})")
        if math.isinf(value):  # accepted, it made the onnxruntime check pass whatever it saw
            raise ExportRequestError(f"{flag} {value:g}: a tolerance must be finite, or the "
                                     f"check verifies nothing (the default is {default})")
    if out is not None and str(out).endswith(("/", os.sep)):  # Path(out) would drop it
        raise ExportRequestError(
            f"--out {out} ends in {str(out)[-1]!r}, so it names a folder, and an export is a "
            f"file (its sidecar beside it): give the file's path, e.g. --out "
            f"{Path(out) / 'model.onnx'}")
    path = Path(out) if out is not None else Path(run_dir) / "export" / "model.onnx"
    _check_out(path)
    _require_onnx_extra()
    _check_opset(opset)
    # From-scratch layers (FFT convolution's complex numbers above all) do not lower to
    # ONNX; PyTorch's layers hold the same weights and compute the same function.
    run = load_run(run_dir, which=which, device="cpu", pytorch_ops=True)
    pp = run.preprocess
    shape = (pp.channels, pp.image_size, pp.image_size)
    made_from = first_missing_folder(path.parent)  # what a failed first export takes away
    model = run.model.float().eval()
    earlier = (read_sidecar(path.with_suffix(".json")) or {}).get("source")
    replaced = False
    with SigintRecorder() as sigint:
        try:
            # The new export is written and checked in a temporary folder beside the target,
            # under the target's own name (an external-data file is referenced by name), and
            # replaces an earlier export only once it has passed: a failed re-export leaves
            # the old one intact.
            staging = _make_staging(path, made_from)
            try:
                result = _export_checked(run, model, shape, staging / path.name, path, opset,
                                         batch_sizes, (atol, rtol), sigint)
                # The renames run to their end, so the graph and its sidecar stay a pair.
                with sigint.deferred(), _writing(path):
                    _replace(staging / path.name, path)
                    replaced = True
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                remove_empty_folders_made(path.parent, made_from)  # a failed first export
        except KeyboardInterrupt:
            raise ExportInterrupted(
                f"interrupted as the checked export was moved into place: {path} and its "
                "sidecar are the new export" if replaced else f"export stopped; {_kept(path)}"
            ) from None
    result.replaced = earlier if earlier and earlier != export_source(run) else None  # said
    return result


def _export_checked(run, model: nn.Module, shape: tuple[int, int, int], staged: Path,
                    path: Path, opset: int | None, batch_sizes: tuple[int, ...],
                    tolerances: tuple[float, float], sigint: SigintRecorder) -> ExportResult:
    """Export to ``staged`` (in the staging folder) and check it; ``path``: the target."""
    exporter = _export(model, shape, staged, opset, sigint)
    written = _opset_of(staged)
    if opset is not None and written != opset:
        raise ExportError(
            f"the exporter could not convert {run.config.model} to opset {opset} (it "
            f"produced opset {written}); {_kept(path)}. Choose a higher --opset, or "
            "leave it out for the exporter's default"
        )
    diffs = verify_onnx(staged, model, shape, batch_sizes)
    worst = max(diffs.values())
    atol, rtol = tolerances
    scale = logit_scale(model, shape, batch_sizes)
    if not worst <= allowed_difference(atol, rtol, scale):  # also catches NaN
        raise ExportError(
            f"onnxruntime disagrees with PyTorch by up to {worst:.3g} (> --atol {atol:g} + "
            f"--rtol {rtol:g} x {scale:.3g}) for {run.config.model}, whose logits reach "
            f"{scale:.3g} (relative difference {worst / max(scale, 1e-30):.1e}); "
            f"{_kept(path)}. A relative difference near 1e-6 is float32 rounding: pass a "
            "looser --rtol. Otherwise try another --opset"
        )
    result = ExportResult(path, path.with_suffix(".json"), exporter, written, diffs,
                          atol, shape, list(run.classes), rtol=rtol, logit_scale=scale)
    with _writing(path):
        write_sidecar(result, run, staged)
    sigint.check()  # an interrupt something caught on the way stops here, before the renames
    return result


def _make_staging(path: Path, made_from: Path | None) -> Path:
    with _writing(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent))
        except OSError:
            remove_empty_folders_made(path.parent, made_from)
            raise


@contextlib.contextmanager
def _writing(path: Path):
    """A folder it may not write in (no permission, read-only, full) names the export's
    own path, not the temporary name the write failed on."""
    try:
        yield
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}; "
                          "choose another --out") from None


def _check_opset(opset: int | None) -> None:
    """Refuse an opset the installed exporter does not support: asked for one, it may
    log a traceback and fall back to its own (a file at another opset than requested)."""
    if opset is None:
        return
    low, high = opset_range()
    if not low <= opset <= high:
        raise ExportRequestError(
            f"--opset {opset} is not supported by the installed exporter (torch "
            f"{torch.__version__}): choose an opset from {low} to {high}, or leave --opset "
            "out for its default")


def _check_out(path: Path) -> None:
    """Refuse an output path that cannot be written, before the export."""
    # The folder first: it has no suffix either, and this says what to give instead.
    for target in (path, path.with_suffix(".json")):
        if target.is_dir():
            raise ExportRequestError(
                f"{target} is a folder, so the export cannot be written there: give --out a "
                f"file path, e.g. --out {path / 'model.onnx'}")
    if path.suffix != ".onnx":
        raise ExportRequestError(f"the output file should end in .onnx (lower case, as "
                                 f"predict knows it), got {path}")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ExportRequestError(f"cannot write {path}: {blocker} is a file, not a folder; "
                                 "give --out a path in a folder")
    # The export replaces the .onnx file, the sidecar and the weights beside them: only
    # when they are a previous export's (its sidecar says so), never someone else's files.
    sidecar = path.with_suffix(".json")
    if sidecar.exists() and read_sidecar(sidecar) is None:
        raise ExportRequestError(
            f"{sidecar} is not the sidecar of a cnnlab export, and the export of {path.name} "
            "would replace it with its own: choose another --out, so that it is kept")
    for own in (path, data_file(path)):
        if own.exists() and not sidecar.exists():
            raise ExportRequestError(
                f"{own} is not a cnnlab export (there is no sidecar {sidecar.name} beside "
                "it), and the export would replace it: choose another --out, so that it is kept")


def _kept(path: Path) -> str:
    if path.exists():
        return f"the new export was discarded and the previous {path} is untouched"
    return "the new export was discarded"


def _replace(staged: Path, path: Path) -> None:
    """Move a checked export (file, sidecar, external weights) over the target's names,
    each on disk first: a crash leaves whole files (the sidecar's checksums name a pair
    from two exports). The sidecar goes first: what a crash leaves beside it is an
    export's, which the next may replace (_check_out). Netron holding one: atomic.replace_file."""
    data = data_file(staged)
    for staged_file in (data, staged, staged.with_suffix(".json")):
        if staged_file.exists():
            fsync_file(staged_file)
    atomic.replace_file(staged.with_suffix(".json"), path.with_suffix(".json"))
    if data.exists():
        atomic.replace_file(data, data_file(path))
    else:  # weights of an earlier, larger export: no longer referenced
        data_file(path).unlink(missing_ok=True)
    atomic.replace_file(staged, path)
    fsync_folder(path.parent)


def _require_onnx_extra() -> None:
    with interrupt_wins():  # the first import takes seconds: Ctrl-C comes there too
        for module in ("onnx", "onnxscript", "onnxruntime"):
            require_extra(module, "onnx", "ONNX export")


def _export(model: nn.Module, shape: tuple[int, int, int], path: Path,
            opset: int | None, sigint: SigintRecorder) -> str:
    """Write ``path``; the torch.export-based exporter first, TorchScript's if it fails or
    misses the asked opset (not if it failed because it was interrupted)."""
    example = torch.randn(2, *shape)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    failures, printed = [], io.StringIO()  # what its failure printed (see quiet_exporter)
    try:
        with quiet_exporter(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (example,), str(path), dynamo=True, input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME], opset_version=opset, verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                external_data=size > _EXTERNAL_DATA_BYTES,
            )
        written = _opset_of(path)
        if opset is None or written == opset:
            return "torch.export"
        # It converts down only as far as its op library allows, and then keeps its own
        # opset (it only logs that); TorchScript's exporter writes older opsets directly.
        failures.append(f"torch.export-based exporter: wrote opset {written}, not {opset}")
    except Exception as exc:  # any tracing / lowering failure: try the older exporter
        sigint.check(exc)
        failures.append(f"torch.export-based exporter: {_first_line(exc)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME], opset_version=opset,
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
        return "torchscript"
    except Exception as exc:
        sigint.check(exc)
        failures.append(f"TorchScript-based exporter: {_first_line(exc)}")
    _remove(path)
    sys.stderr.write(printed.getvalue())  # both failed: torch's account, as it printed it
    raise ExportError("could not export to ONNX:\n  " + "\n  ".join(failures))


def _first_line(exc: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # the exporter's terminal colours
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    data_file(path).unlink(missing_ok=True)  # external weights, if any


def _opset_of(path: Path) -> int | None:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)


@torch.no_grad()
def logit_scale(model: nn.Module, shape: tuple[int, int, int],
                batch_sizes: tuple[int, ...] = (1, 2, 3), seed: int = 0) -> float:
    """The largest |logit| ``model`` gives verify_onnx's ``shape``/``batch_sizes``/``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return max(float(model(torch.randn(n, *shape, generator=gen)).abs().max())
               for n in batch_sizes)


@torch.no_grad()
def verify_onnx(path: str | Path, model: nn.Module, shape: tuple[int, int, int],
                batch_sizes: tuple[int, ...] = (1, 2, 3), seed: int = 0) -> dict[int, float]:
    """Batch size -> max |onnxruntime - PyTorch| of the logits of ``path``'s ONNX model
    and ``model`` for a random batch (of ``shape`` (C, H, W) samples, drawn from
    ``seed``) of each size in ``batch_sizes``."""
    session = onnx_session(Path(path))
    gen = torch.Generator().manual_seed(seed)
    diffs = {}
    for n in batch_sizes:
        x = torch.randn(n, *shape, generator=gen)
        expected = model(x)
        got = torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0])
        if got.shape != expected.shape:
            raise ExportError(f"the ONNX model returned shape {tuple(got.shape)} for batch {n}; "
                              f"PyTorch returns {tuple(expected.shape)}")
        diffs[n] = float((got - expected).abs().max())
    return diffs
