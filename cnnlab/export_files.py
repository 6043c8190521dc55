"""The files an ONNX export is made of, and the sidecar that says what they are.

An export is a graph file (``model.onnx``), its weights beside it when the model is too
large for one protobuf file (``model.onnx.data``), and a JSON sidecar (``model.json``)
with the classes, the input preprocessing, the test-time views and checksums of the
other two. :mod:`cnnlab.export` writes them (at an opset in :func:`opset_range`);
:mod:`cnnlab.onnx_run` reads them back. While the exporter writes them,
:func:`quiet_exporter` keeps its chatter from the user.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from pathlib import Path

import torch

from cnnlab.extras import require_extra

INPUT_NAME, OUTPUT_NAME = "images", "logits"
SIDECAR_FORMAT = "cnnlab-onnx"
SIDECAR_VERSION = 2  # 2: test-time augmentation (absent in 1: none)


def data_file(onnx_file: Path) -> Path:
    """Where the weights of a large export lie, beside its graph."""
    return onnx_file.with_name(onnx_file.name + ".data")


def onnx_session(path: Path, threads: int | None = None):
    """onnxruntime's CPU session of the graph at ``path``, on ``threads`` threads (None:
    onnxruntime's own choice, one per core)."""
    ort = require_extra("onnxruntime", "onnx", "running an ONNX model")
    options = ort.SessionOptions()
    if threads is not None:  # as torch's --threads: 1 is steadiest on a busy CPU
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sidecar(path: Path) -> dict | None:
    """A sidecar written by an export (recognised by its own fields), or None."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # unreadable, not text (UnicodeDecodeError), not JSON
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == SIDECAR_FORMAT \
        and "classes" in meta and "preprocess" in meta else None


def export_source(run) -> dict:
    """What an export was made from, as its sidecar records it: absolute paths, so the
    same run exported from another folder is known as the same."""
    return {"run": str(Path(run.run_dir).resolve()),
            "checkpoint": str(Path(run.checkpoint).resolve())}


def write_sidecar(result, run, onnx_file: Path) -> None:
    """The sidecar of ``onnx_file`` (an ``ExportResult``'s export of ``run``), beside it."""
    from cnnlab.train.predict import trained_on

    c, s, _ = result.input_shape
    trained = trained_on(run)
    meta = {
        # The graph file this sidecar belongs to: the two are replaced by two renames,
        # and a crash between them would pair a new model with an old sidecar.
        "onnx_sha256": sha256(onnx_file),
        **({"onnx_data_sha256": sha256(data_file(onnx_file))}
           if data_file(onnx_file).exists() else {}),  # the weights kept beside it
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "model": run.config.model,
        "classes": result.classes,
        "preprocess": {**run.preprocess.to_dict(), "channels_last": False},
        # The views the run's accuracy averaged; `cnnlab predict` averages them too.
        "tta": {"flip": run.config.tta_flip, "shift": run.config.tta_shift},
        # What the run trained on (data.json's, for data given to train() from Python,
        # and the size its folder was decoded at): predict fits images as they were.
        "data": trained[0],
        **({"decoded_size": list(trained[1])} if trained[1] else {}),
        "input": {
            "name": INPUT_NAME, "shape": ["batch", c, s, s], "dtype": "float32",
            "values": "pixels scaled to 0..1, then (x - mean) / std per channel when "
                      "mean is set",
        },
        "output": {"name": OUTPUT_NAME, "shape": ["batch", len(result.classes)]},
        "exporter": result.exporter,
        "opset": result.opset,
        "source": export_source(run),
        "verification": {
            "runtime": "onnxruntime",
            "max_abs_diff": {str(k): v for k, v in result.max_abs_diff.items()},
            "atol": result.atol,
            "rtol": result.rtol,
            "logit_scale": result.logit_scale,
        },
        "torch": torch.__version__,
    }
    sidecar = onnx_file.with_suffix(".json")
    sidecar.write_text(json.dumps(meta, indent=1), encoding="utf-8")


def opset_range() -> tuple[int, int]:
    """The lowest and highest ONNX opset the installed exporter writes a file at."""
    try:  # torch's own bounds (a private module: absent from some versions)
        from torch.onnx._constants import ONNX_MAX_OPSET, ONNX_MIN_OPSET

        return ONNX_MIN_OPSET, ONNX_MAX_OPSET
    except ImportError:
        import onnx

        return 7, onnx.defs.onnx_opset_version()


# The exporter's loggers, and those of the torch.export machinery it runs first: a failed
# opset conversion is logged with a traceback (export_onnx reports the opset itself), and
# a model torch.export cannot trace (a data-dependent `if`) logs symbolic-shape warnings.
_EXPORTER_LOGGERS = ("onnxscript", "torch.onnx", "torch.export", "torch._export",
                     "torch._dynamo", "torch.fx", "torch._subclasses")


@contextlib.contextmanager
def quiet_exporter(printed):
    """Run the torch.export-based exporter without its chatter: its progress on stdout
    (the CLI prints its own summary), its log records, and what it prints to stderr as it
    fails, kept in ``printed`` (a text stream). torch prints each failed trace's partial
    graph there, ~60 lines before cnnlab's summary for a model the TorchScript exporter
    then wrote well; the caller shows them where that one fails too. (The CLI's spinner
    keeps the real stderr: cli/export.py pins it.)"""
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(printed):
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
