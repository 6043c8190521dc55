"""`cnnlab predict`: classify image files, or folders of them, with a trained run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import counted, ordinal
from cnnlab.train.config import MAX_THREADS

from .hints import usable_cores as _cores  # a name tests replace
from .messages import err, error, fail, fail_for, output_console, warning
from .paths import output_file
from .train import run_errors

console = output_console()

BAR_FROM = 50  # images: fewer take a second or so, with nothing to watch


def predict(
    run: Path = typer.Argument(..., help="Run directory, or a .onnx file from `cnnlab export`."),
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, ... of any size or "
                                        "mode), or folders: every image file below them."),
    top_k: int = typer.Option(3, help="How many classes to show per image."),
    which: str = typer.Option(None, metavar="CHECKPOINT",
                              help="best or last checkpoint (default: best; an .onnx file "
                                   "holds the one it was exported from)."),
    invert: bool = typer.Option(False, help="Invert grey levels (dark drawing on white)."),
    tta: bool = typer.Option(True, "--tta/--no-tta", help="Average over the test-time views "
                             "the run evaluated with (its tta_flip, tta_shift), as its "
                             "accuracy did; --no-tta: the image alone."),
    device: str = typer.Option("cpu", help="cpu (quickest for a few images), cuda, cuda:1, "
                                           "mps or auto. An .onnx file runs on the CPU."),
    out: Path = typer.Option(None, help="Also write every image's top-k classes here (CSV: "
                                        "image, class_1, probability_1, ..., error).",
                             callback=output_file(".csv")),
    quiet: bool = typer.Option(False, help="With --out: write the file, print no table."),
    threads: int = typer.Option(None, min=1, max=MAX_THREADS,
                                help="torch CPU threads for reading and classifying, "
                                     "onnxruntime's for an .onnx file (default: one per "
                                     "core; 1 is steadiest on a busy CPU)."),
) -> None:
    """Classify images with a trained run; prints the top-k classes of each."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from cnnlab.progress import ProgressBar, shows_live
    from cnnlab.train.device import torch_threads
    from cnnlab.train.outcome import checkpoint_when
    from cnnlab.train.predict import (
        check_top_k,
        classify_files,
        image_paths,
        light_backgrounds_told_once,
        open_for_prediction,
    )
    from cnnlab.train.report_evaluation import describe_tta

    is_onnx = Path(run).suffix == ".onnx"
    try:
        check_top_k(top_k)
        items = _items(images, image_paths)
        if all(problem for _, problem in items):  # only folders without images: no model
            for _, problem in items[:-1]:
                error(problem)
            raise FileNotFoundError(items[-1][1])
        model = open_for_prediction(run, which or "best", "cpu" if is_onnx else device,
                                    threads)
    except run_errors() as exc:
        fail_for(exc)
    files = [path for path, problem in items if not problem]
    if is_onnx and which is not None:
        source = (model.meta.get("source") or {}).get("checkpoint") or (
            "the checkpoint it was exported from")
        warning(f"--which {which} has no effect on an .onnx file: it holds {source} (export "
                f"another with cnnlab export RUN --which {which})")
    if is_onnx and device != "cpu":
        warning(f"--device {device} has no effect on an .onnx file: onnxruntime runs it on "
                "the CPU here")
    if is_onnx and threads is not None and threads > (cores := _cores()):
        # onnxruntime's threads spin while they wait: 32 on 2 cores classified 27x slower
        warning(f"--threads {threads}, but this machine gives it "
                f"{counted(cores, 'core')}: onnxruntime then runs many times slower; "
                f"--threads {cores}{' or fewer' if cores > 1 else ''}")
    shown = min(top_k, len(model.classes))  # columns, whether any image is read or none
    if top_k > len(model.classes):  # not 20 columns of which 10 stay empty
        err.print(f"note: --top-k {top_k}, but the model knows {len(model.classes)} classes: "
                  "all of them are shown", highlight=False)
    if not is_onnx:  # an .onnx file says nothing of when its checkpoint was written
        when = checkpoint_when(model.epoch, model.step_in_epoch, model.config.epochs)
        err.print(f"checkpoint {model.checkpoint.stem}, {when}", highlight=False)
    if tta and any(model.tta):
        err.print(f"test-time augmentation as the run evaluated: {describe_tta(*model.tta)} "
                  "(--no-tta for the image alone)")
    rows: list[tuple[Path, list[tuple[str, float]], str]] = []
    live = shows_live(err) and len(files) >= BAR_FROM
    bar = ProgressBar(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("images"), TimeRemainingColumn(), console=err,
                      transient=True, disable=not live)
    task = bar.add_task("classifying", total=len(items))
    # In batches, in the order of the files; one unreadable file costs the others nothing.
    # The bar counts each image as it is read (most of the time, for photos), not each
    # batch's answers: it moved 64 images at a time.
    answers = classify_files(model, files, top_k, invert, tta,
                             read=lambda: bar.advance(task))
    stopped = None  # the model's failure on a batch (out of memory, an input it refuses)
    # (torch's threads for a PyTorch model and for reading every image; onnxruntime's
    # session has its own, set as it opened)
    with light_backgrounds_told_once(len(files), model.data), bar, torch_threads(threads):
        for path, problem in items:
            if problem:  # a folder without images: said as an unreadable file is
                error(problem)
                rows.append((path, [], problem))
                bar.advance(task)
                continue
            try:
                _, ranked, unreadable = next(answers)
            except (RuntimeError, ValueError) as exc:  # ModelInputError is both
                stopped = (path, exc)
                break
            if unreadable is not None:
                error(str(unreadable))
            rows.append((path, ranked, "" if unreadable is None else str(unreadable)))
    if stopped is not None:  # the answers so far are shown, not lost to a traceback
        if rows:  # (stopped at the first batch: no table of no rows above the error)
            console.print(_table(rows, shown))
        done = (f"{len(rows)} of {len(items)} images above" if rows else
                "the image was not classified" if len(items) == 1 else
                f"none of {len(items)} images classified")
        unwritten = f"; {out} was not written" if out is not None else ""
        fail(f"classifying stopped at {stopped[0]}: {stopped[1]} ({done}{unwritten})")
    if not (quiet and out is not None):
        console.print(_table(rows, shown))  # first: a file it cannot write costs no answer
    if out is not None:
        try:
            _write_csv(out, rows, shown)
        except OSError as exc:  # no permission, a read-only or full disk
            if quiet:  # the file was to hold the answers: they are shown instead
                console.print(_table(rows, shown))
            fail(f"cannot write {out}: {(exc.strerror or str(exc)).lower()}; choose another "
                 "--out")
        err.print(f"predictions written to {escape(str(out))}", highlight=False)
    empty = sum(1 for _, problem in items if problem)
    unreadable = sum(1 for *_, problem in rows if problem) - empty
    said = [f"{unreadable} of {len(files)} images could not be read"] if unreadable else []
    if empty:
        said.append(f"{empty} folder{'s' if empty > 1 else ''} held no images")
    if said:
        fail(f"{' and '.join(said)} (above)")


def _items(arguments: list[Path], image_paths) -> list[tuple[Path, str]]:
    """Each image file the arguments name, with "" (to classify), and each folder
    without images, with why: one such folder among the arguments was an error that
    stopped the command before any image was classified. It is now said, given a row,
    and ends the command in failure once the others are classified, as an unreadable
    file is."""
    items = []
    for argument in arguments:
        try:
            items += [(path, "") for path in image_paths([argument])]
        except FileNotFoundError as exc:  # raised for a folder without images alone
            items.append((argument, str(exc)))
    return items


def _table(rows, shown: int) -> Table:
    """One row per image, its ``shown`` classes most likely first ("Coat 91.2%")."""
    from cnnlab.data.folder_files import readable_name

    table = Table()
    table.add_column("image", overflow="fold")
    for rank in range(1, shown + 1):
        table.add_column(ordinal(rank))
    for path, ranked, problem in rows:
        cells = [f"{escape(name)} {100 * prob:.1f}%" for name, prob in ranked]
        if problem:
            cells = ["[red]no images[/]" if path.is_dir() else "[red]unreadable[/]"]
        table.add_row(escape(readable_name(str(path))), *cells, *[""] * (shown - len(cells)))
    return table


def _write_csv(out: Path, rows, shown: int) -> None:
    from cnnlab.atomic import atomic_write_text
    from cnnlab.data.folder_files import readable_name

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["image"]
    for rank in range(1, shown + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    writer.writerow([*header, "error"])
    for path, ranked, problem in rows:
        # A file name not in UTF-8 (a Latin-1 archive's "d\xf6g.png") as its bytes'
        # \xNN escapes: the name as Python holds it cannot be written, and the whole
        # file was lost to a UnicodeEncodeError after every image was classified.
        cells = [readable_name(str(path))]
        for name, prob in ranked:
            cells += [name, f"{prob:.6f}"]
        cells += [""] * (2 * (shown - len(ranked)))
        writer.writerow([*cells, readable_name(problem)])
    atomic_write_text(out, text.getvalue())


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
