"""`cnnlab export`: a trained run as a file other runtimes load (ONNX), verified."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import typer
from rich.markup import escape

from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM
from cnnlab.shell_words import shell_quote

from .messages import err, fail, fail_for, output_console, warning

console = output_console()


def export(
    run: Path = typer.Argument(..., help="Run directory written by `cnnlab train`."),
    fmt: str = typer.Option("onnx", "--format", help="Export format: onnx."),
    # str, not Path: pathlib drops the trailing slash of a folder meant (`--out x.onnx/`)
    out: str = typer.Option(None, metavar="FILE",
                            help="Output file (default: RUN/export/model.onnx)."),
    which: str = typer.Option("best", metavar="CHECKPOINT", help="best or last checkpoint."),
    opset: int = typer.Option(None, help="ONNX opset (default: the exporter's choice)."),
    atol: float = typer.Option(1e-4, help="Largest max |onnxruntime - PyTorch| of the "
                                          "logits accepted, plus --rtol's part (>= 0)."),
    rtol: float = typer.Option(1e-5, help="Also accepted: this times the largest |logit| "
                                          "(float32 rounding grows with the logits; >= 0)."),
) -> None:
    """Export a trained run to ONNX (dynamic batch) and check it with onnxruntime against
    PyTorch."""
    from cnnlab.export import ExportError, export_run
    from cnnlab.extras import MissingExtraError
    from cnnlab.train.checkpoint import CheckpointError

    # Blank text is no choice: --format '' exported ONNX as if left out, and --out ''
    # failed after the run was read with "PosixPath('.') has an empty name".
    if not fmt.strip():
        fail(f"--format {fmt!r}: give onnx, or leave --format out", code=2)
    if out is not None and not out.strip():
        fail(f"--out {out!r}: give the .onnx file to write, or leave --out out for "
             "RUN/export/model.onnx", code=2)
    try:
        with _stderr_pinned(), err.status(f"exporting {run} to {fmt} ..."):
            res = export_run(run, fmt, out=out, which=which, atol=atol, opset=opset,
                             rtol=rtol)
    except KeyboardInterrupt as exc:  # export_run's says what is left at the output path
        err.print(f"[yellow]interrupted[/]: {escape(str(exc) or 'export stopped')}")
        raise typer.Exit(interrupted_status()) from None
    except (ExportError, MissingExtraError, CheckpointError, FileNotFoundError,
            ValueError) as exc:
        fail_for(exc)
    except OSError as exc:  # a run folder it may not read, say
        fail(f"{exc.filename or run}: {(exc.strerror or str(exc)).lower()}")
    per_batch = ", ".join(f"batch {n}: {d:.1e}" for n, d in res.max_abs_diff.items())
    c, s, _ = res.input_shape
    for line in (
        f"exported {res.path} ({res.exporter} exporter, opset {res.opset}, "
        f"input batch x {c} x {s} x {s}, dynamic batch)",
        f"verified with onnxruntime: max |diff| vs PyTorch {res.worst_diff:.2e} "
        f"<= {res.tolerance:.2e} ({per_batch})",  # as the diff: 1.91e-06 <= 1.47e-04
        f"sidecar {res.sidecar} ({len(res.classes)} classes, preprocessing)",
        f"predict with: cnnlab predict {shell_quote(str(res.path))} IMAGE ...",
    ):
        console.print(line, highlight=False, soft_wrap=True)
    if res.replaced:  # another run's export was there: said, the files being the same names
        warning(f"{res.path} held the export of {res.replaced.get('run')} (checkpoint "
                f"{res.replaced.get('checkpoint')}); it is replaced by this one")


@contextlib.contextmanager
def _stderr_pinned():
    """``err`` writes to the stderr of now for the block. The torch.export attempt swaps
    sys.stderr to keep torch's prints (cnnlab.export_files.quiet_exporter), and the
    spinner, drawn where sys.stderr is at each frame, stood still for its whole length."""
    err.file = sys.stderr
    try:
        yield
    finally:
        err.file = None  # made without a file (messages.err): sys.stderr at each print


def register(app: typer.Typer) -> None:
    app.command("export")(export)
