"""`cnnlab bench ...`: benchmarks that print a table and a ratio against a baseline.

The baselines are measured in the same run, on the same machine: the book's
DataLoader (loader), the plain DenseNet (memory), PyTorch's convolution (ops), each
model's plain fp32 eager step (throughput). The zoo sets its accuracies beside the
book's published ones. Each can write its rows as JSON (or CSV) for BENCHMARKS.md.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import (
    columns_left_out,
    fitted_widths,
    left_out_caption,
    percent_text,
    seconds_text,
    without_columns,
)
from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM
from cnnlab.train.config import PRESETS  # torch-free: --help stays quick

from .hints import hint_at_a_busy_cpu
from .messages import fail, fail_for, output_console, print_table
from .paths import DATA_ROOT_DEFAULT, dataset_name, folder_text, output_file

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline.",
                  no_args_is_help=True)
console = output_console()

# The zoo's recipes: TrainConfig's presets, plus "none" for TrainConfig's own defaults.
ZOO_PRESETS = (*PRESETS, "none")
THROUGHPUT_AMP = ("off", "bf16", "fp16")  # measure() casts with these; "auto" it does not
# What `bench loader` prints of the machine under its table (the file gets it all).
ENVIRONMENT_SHOWN = ("date", "torch", "cpu_model", "cpu_count", "torch_threads",
                     "load_average", "device", "gpu")


def one_of(*choices: str):
    """An option callback refusing values outside ``choices``, as typer refuses a bad int."""
    def check(value: str | list[str]) -> str | list[str]:
        for one in [value] if isinstance(value, str) else value:
            if one not in choices:
                raise typer.BadParameter(f"{one!r} is not one of {', '.join(choices)}")
        return value

    return check


def _output_folder(path: Path) -> Path:
    from cnnlab.train import ConfigError

    from .paths import check_writable_place

    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise typer.BadParameter(f"{blocker} is a file; the zoo writes a folder of results")
    try:  # before any model trains: a place it cannot write failed at its first row
        check_writable_place(path / "zoo.csv", "--out", shown=path)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--out ")) from None
    return path


def model_names(models: str) -> list[str]:
    """"alexnet_d2l,lenet*": each pattern's matches, in the order given; a full model name
    means that model only (not every name containing it). None matching is an error."""
    from cnnlab.extras import MissingExtraError
    from cnnlab.models import UnknownModelError, list_models, model_info

    known = set(list_models())
    names = []
    for pattern in filter(None, (p.strip() for p in models.split(","))):
        matches = [pattern] if pattern in known else list_models(pattern)
        if not matches and any(c in pattern for c in "*?["):  # a wildcard: no name to fix
            fail(f"--models {models!r}: no model matches {pattern!r} (see `cnnlab models`)",
                 code=2)
        if not matches:  # a typo among good names was dropped, and the rest benchmarked
            try:
                model_info(pattern)  # its error names the closest models
            except (UnknownModelError, MissingExtraError) as exc:  # timm:NAME without timm
                fail_for(exc, prefix=f"--models {models!r}: ")
            matches = [pattern]  # a name the registry resolves (tv:NAME, timm:NAME)
        names.extend(n for n in matches if n not in names)
    if not names:
        fail(f"no model matches {models!r} (see `cnnlab models`)", code=2)
    return names


def resolve_device(name: str) -> str:
    """The device ``name`` stands for here ("auto" resolved), or a clear error naming it."""
    from cnnlab.train.device import select_device

    try:
        return str(select_device(name))
    except ValueError as exc:  # select_device's ConfigError names the device
        fail_for(exc)


def write_json_if_asked(rows, out: Path | None, device: str = "cpu",
                        threads: int | None = None) -> None:
    """The rows and the machine they ran on (:func:`cnnlab.bench.results.write_json`;
    ``threads``: the torch threads the bench ran on) to ``out``, if given."""
    if out is None:
        return
    from cnnlab.bench.results import write_json

    write_json(out, rows, device, threads)
    console.print(f"rows written to {escape(str(out))}")


@app.command("memory")
def memory(
    model: str = typer.Option("densenet121", help="A DenseNet with a memory_efficient option."),
    batch_size: int = typer.Option(8, min=1, help="Images per training step."),
    image_size: int = typer.Option(64, min=1, help="Square input side, in pixels (RGB)."),
    steps: int = typer.Option(5, min=1,
                              help="Timed training steps per variant (median is shown)."),
    threads: int = typer.Option(1, min=1, help="torch CPU threads, fixed so that runs on "
                                "different machines compare (1 is steadiest on a busy "
                                "CPU); the table and the file say the count."),
    out: Path = typer.Option(None, help="Also write the rows as JSON here.",
                             callback=output_file(".json")),
) -> None:
    """Memory-efficient DenseNet: saved activation bytes and time per step vs plain."""
    from cnnlab.bench.memory import run_densenet_memory_bench
    from cnnlab.extras import MissingExtraError
    from cnnlab.models import UnknownModelError, list_models, model_info

    try:
        family = model_info(model).family
    # its message lists the closest names, or the pip line (timm:NAME without timm)
    except (UnknownModelError, MissingExtraError) as exc:
        fail_for(exc)
    if family != "densenet":  # only DenseNets have the option this bench compares
        fail(f"{model} has no memory_efficient option to compare; use a DenseNet: "
             f"{', '.join(list_models('densenet*'))}", code=2)
    smallest = model_info(model).min_input_size
    if image_size < smallest:  # before building it: a pooling error otherwise
        fail(f"--image-size {image_size} is too small for {model} (at least {smallest})",
             code=2)

    with console.status(f"training {model} both ways ..."):
        rows = run_densenet_memory_bench(model=model, batch_size=batch_size,
                                         image_size=image_size, steps=steps,
                                         num_threads=threads)
    table = Table(title=f"{model}, batch {batch_size}, {image_size}x{image_size}, "
                        f"{threads} thread(s)")
    # The units in the headers, MiB as every measured memory number (cnnlab summary's
    # training activations, the same counter, included).
    for col in ("variant", "saved activations MiB", "vs plain", "step ms", "vs plain",
                "max |logit diff|", "max |grad diff|"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["variant"], f"{r['saved_mib']:.1f}", f"{r['memory_vs_plain']:.3f}",
                      f"{1000 * r['step_s']:.0f}", f"{r['time_vs_plain']:.3f}",
                      f"{r['max_abs_logit_diff']:.1e}", f"{r['max_abs_grad_diff']:.1e}")
    # A narrow terminal keeps the two ratios the goals are about.
    print_table(console, _fitted(table, ["max |grad diff|", "max |logit diff|", "step ms",
                                         "saved activations MiB"],
                                 renamed={"vs plain": ("memory vs plain", "time vs plain")}))
    eff = rows[1]
    console.print(
        f"memory-efficient: {100 * (1 - eff['memory_vs_plain']):.0f}% fewer saved bytes "
        f"(goal >= 40%), {100 * (eff['time_vs_plain'] - 1):+.0f}% time per step (goal <= +35%)"
    )
    write_json_if_asked(rows, out, threads=threads)


@app.command("loader")
def loader(
    resize: int = typer.Option(96, min=1,
                               help="Output side (the book: 96 for ResNet/GoogLeNet)."),
    batch_size: int = typer.Option(128, min=1, help="Images per batch, for every pipeline."),
    workers: int = typer.Option(2, min=0, help="Worker processes of the book's DataLoader."),
    epochs: int = typer.Option(2, min=1, help="Timed epochs per pipeline (the first is cold)."),
    device: str = typer.Option("cpu", help="Where the DeviceLoader makes batches."),
    repeats: int = typer.Option(1, min=1, help="Repeat everything; each phase keeps its best."),
    threads: int = typer.Option(None, min=1, help="torch CPU threads of the DeviceLoader "
                                "(default: one per core; 1 is steadiest on a busy CPU); "
                                "each row says the count."),
    augment: bool = typer.Option(True, "--augment/--no-augment",
                                 help="Also time per-sample crop + flip."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help=f"Folder holding Fashion-MNIST (default: "
                                       f"{DATA_ROOT_DEFAULT})."),
    out: Path = typer.Option(None, help="Also write the rows as JSON here.",
                             callback=output_file(".json")),
) -> None:
    """One epoch of Fashion-MNIST: DeviceLoader vs the book's torchvision DataLoader."""
    from cnnlab.bench.loader import COLUMNS, pixel_difference, run_loader_bench
    from cnnlab.bench.results import bench_environment
    from cnnlab.data import DataError, load_dataset

    device = resolve_device(device)
    try:
        data = load_dataset("fashion-mnist", root=data_root)
    except DataError as exc:  # not found, not downloadable, damaged: the message says
        fail(str(exc))
    images, labels = data.train.images, data.train.labels
    with console.status("timing both loaders ..."):
        rows = run_loader_bench(resize=resize, batch_size=batch_size, workers=workers,
                                epochs=epochs, device=device, repeats=repeats,
                                augment=augment, threads=threads, data=(images, labels))
    table = Table(title=f"Fashion-MNIST train, {len(labels):,} images, resize {resize}, "
                        f"batch {batch_size}")
    for _, header in COLUMNS:
        table.add_column(header, justify="left" if header in ("pipeline", "runs on",
                                                              "phase") else "right")
    for r in rows:
        table.add_row(
            r["pipeline"], r["parallelism"], r["phase"], f"{r['seconds']:.3f}",
            f"{r['images_per_s']:,.0f}" if r["images_per_s"] else "",
            f"{r['speedup']:.1f}x" if r["speedup"] else "",
        )
    print_table(console, _fitted(table, ["seconds", "runs on", "images/s"],
                                 ("pipeline", "runs on")))
    cached = [r for r in rows if r["pipeline"].startswith("DeviceLoader (resident, resize cache")
              and r["speedup"]]
    if cached:
        best = max(r["speedup"] for r in cached)
        console.print(f"DeviceLoader vs the book's loader: {best:.1f}x its images/s "
                      "(goal >= 5x)")
    if device == "cpu":
        diff = pixel_difference(images, labels, resize)
        console.print(f"max pixel difference to the book's batches: {diff:.2e}")
    env = bench_environment(device)  # written with the rows too
    if threads:  # the book's loader ran on torch's own; each row says the DeviceLoader's
        env = {**env, "torch_threads": f"{env['torch_threads']} (DeviceLoader: {threads})"}
    console.print("  ·  ".join(f"{k} {env[k]}" for k in ENVIRONMENT_SHOWN if env.get(k)),
                  style="dim", highlight=False, markup=False)
    write_json_if_asked(rows, out, device)


@app.command("zoo")
def zoo(
    preset: str = typer.Option("book", callback=one_of(*ZOO_PRESETS),
                               help="book (each model's book recipe), fast, or none "
                                    "(TrainConfig's defaults)."),
    models: str = typer.Option(None, metavar="PATTERN",
                               help="Pattern of model names, or several separated by commas "
                                    "(default: every model the book trains)."),
    epochs: int = typer.Option(None, min=1, help="Epochs per model (default: the preset's)."),
    device: str = typer.Option("auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps."),
    data: str = typer.Option("fashion-mnist", callback=dataset_name(),
                             help="fashion-mnist, folder:PATH or synthetic."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help=f"Folder holding the dataset files (default: "
                                       f"{DATA_ROOT_DEFAULT})."),
    batch_size: int = typer.Option(None, min=1, help="Batch size (default: the preset's)."),
    out: Path = typer.Option(Path("results"), metavar="DIR",
                             help="Where the CSV, table and plots go.",
                             callback=_output_folder),
    threads: int = typer.Option(None, min=1, help="torch CPU threads (default: one per core; "
                                "1 is steadiest on a busy CPU)."),
) -> None:
    """Train each model with one recipe; table and plots of accuracy beside cost.

    Every finished model is stored at once in OUT/zoo-PRESET.csv; run the same command
    again after an interruption and it continues where it stopped.
    """
    from cnnlab.bench.zoo import ZooSetupError, default_models, run_zoo
    from cnnlab.bench.zoo_report import markdown_table

    # None: not given. An empty pattern (an unset shell variable) names no model; it had
    # started the whole zoo.
    names = model_names(models) if models is not None else default_models()
    if preset == "book":  # a pattern ("lenet*") may catch networks the book never trains
        from cnnlab.models import model_info

        untrained = [n for n in names if model_info(n).book_recipe is None]
        names = [n for n in names if n not in untrained]
        if untrained:
            console.print(f"left out (the book does not train them, so --preset book has no "
                          f"recipe): {', '.join(untrained)}", highlight=False)
        if not names:
            fail(f"the book trains none of {models!r}; `cnnlab models --variant book` lists "
                 "those it does", code=2)
    resolve_device(device)  # before any folder is made: a bad device would fail every model
    hint_at_a_busy_cpu(threads, device)  # its images/s are what the CPU is up against
    # Checked once here (missing or damaged data: one error, not one failure per model),
    # then named by its spec: data handed over as loaded is recorded as data given from
    # Python, which left the book's column empty and gave every run a data.json.
    _check_zoo_data(data, data_root)
    console.print(f"{len(names)} model(s): {', '.join(names)}")

    def kept(done: list[str]) -> None:
        if done:
            console.print(f"already done in {escape(str(out))} (kept, not trained again): "
                          f"{', '.join(done)}", highlight=False)

    def report(row: dict) -> None:
        if row["status"] == "done":
            acc = percent_text(float(row["test_acc"]))
            console.print(f"[green]{escape(row['model'])}[/]: {acc} "
                          f"in {seconds_text(float(row['train_time_s']))}")
        else:
            # escape: an error may hold brackets ("[/data/x]" read as a closing tag)
            console.print(f"[red]{escape(row['model'])} failed[/]: {escape(row['error'])}")

    def starting(name: str, position: int, of: int, resuming: bool) -> None:
        # Which model the epoch bars below are about, and whether it goes on from a
        # checkpoint: no line had named either.
        console.print(f"[{position}/{of}] {name}" + (": resuming its interrupted run"
                                                      if resuming else ""),
                      markup=False, highlight=False)

    from cnnlab.train import TrainingInterrupted

    overrides = {"batch_size": batch_size} if batch_size else None
    try:
        rows = run_zoo(names, preset=preset, epochs=epochs, device=device, out_dir=out,
                       data_spec=data, data_root=data_root,
                       overrides=overrides, on_result=report, quiet=False,
                       on_checked=kept, threads=threads, on_start=starting)
    except (KeyboardInterrupt, TrainingInterrupted):
        console.print("[yellow]interrupted[/]: finished models are stored; run the same "
                      "command again to continue where it stopped")
        raise typer.Exit(interrupted_status()) from None
    except ZooSetupError as exc:
        fail(str(exc), code=2)
    console.print(markdown_table(rows), markup=False)
    console.print(f"results: {escape(str(out))}/zoo-{preset}.csv, .md and plots")
    failed = [r["model"] for r in rows if r.get("status") != "done"]
    if failed:
        fail(f"{len(failed)} of {len(rows)} models failed ({', '.join(failed)}): see the "
             "table; run the same command again to retry them")


def _check_zoo_data(spec: str, root: str | None) -> None:
    """Fashion-MNIST (or the synthetic set) checked once before any model, so missing or
    damaged data is one error, not one failure per model. What it loads is dropped: each
    model's run loads the data by its spec (given to run_zoo, the rows were recorded as
    data given from Python). A folder is decoded per model, at its size, as training does."""
    from cnnlab.data import DataError, load_dataset, parse_spec
    from cnnlab.data.folder import FolderDatasetError, folder_root
    from cnnlab.data.folder_files import PassedOver, image_files_under, no_images_words

    try:
        kind, path = parse_spec(spec)
        if kind == "folder":  # a mistyped path or an empty folder: one error, not a
            root = folder_root(path)  # failed row per model (and a table of failures)
            passed_over = PassedOver()
            if not image_files_under(root, passed_over):
                raise FolderDatasetError(f"{root}: no images found; "
                                         f"{no_images_words(root, passed_over)}")
        else:
            load_dataset(spec, root=root)
    except DataError as exc:
        fail_for(exc)


@app.command("ops")
def ops(
    threads: int = typer.Option(2, min=1, help="torch CPU threads, fixed so that runs on "
                                "different machines compare (1 is steadiest on a busy "
                                "CPU); the tables and the file say the count."),
    repeats: int = typer.Option(5, min=1,
                                help="Calls are interleaved; each keeps its best time."),
    quick: bool = typer.Option(False, help="Tiny cases: a smoke run, not numbers."),
    out: Path = typer.Option(None, help="Also write the rows as JSON here.",
                             callback=output_file(".json")),
) -> None:
    """From-scratch conv2d (direct and FFT) and pooling vs PyTorch: kernel sizes, groups,
    3x3 target."""
    from cnnlab.bench.ops import render_ops_bench, run_ops_bench

    with console.status("timing convolutions ..."):
        result = run_ops_bench(threads=threads, quick=quick, repeats=repeats)
    for table in render_ops_bench(result):
        print_table(console, _fitted(table, _OPS_LEAVE_OUT_FIRST, ("scratch (method)", "op"),
                                     {"ratio": ("fwd ratio", "fwd+bwd ratio")}))
    write_json_if_asked(result, out, threads=result["threads"])


# The ops tables' columns a narrow terminal goes without, the first first, whichever of
# the five tables has them: the timings that a ratio or a speedup sums up go before it, and
# each table keeps what names its rows. "scratch (method)" and an op's name wrap at spaces.
_OPS_LEAVE_OUT_FIRST = ["shift", "unfold", "fft / torch", "scratch / torch", "fft speedup", "fft",
                        "MMACs", "torch", "scratch (method)", "torch fwd+bwd",
                        "scratch fwd+bwd", "torch fwd", "scratch fwd", "input"]


def _fitted(table: Table, leave_out_first: list[str], wraps: tuple[str, ...] = (),
            renamed: dict[str, tuple[str, ...]] | None = None) -> Table:
    """``table`` (a bench's, as rich would print it) fitted to the console's width, with
    every cell folded, never cut: left to rich, `bench ops`' "0.15 (unfold)" read
    "0.15 (unfol…" at 80 columns and every time "0…" at 40. Where even folded it would not
    fit, it goes without the columns ``leave_out_first`` (as few as fit, in order), and
    its caption names them. ``wraps``: columns whose text may wrap at spaces.
    ``renamed``: a header the table has twice ("ratio": forward, then forward+backward),
    and the names the columns are headed by here, in order, so that one can be left out
    and named."""
    names = {old: iter(new) for old, new in (renamed or {}).items()}
    header = [next(names[str(c.header)]) if str(c.header) in names else str(c.header)
              for c in table.columns]
    width = console.width
    justify = dict(zip(header, (c.justify for c in table.columns), strict=True))
    rows = [list(map(str, cells)) for cells in zip(*(c.cells for c in table.columns), strict=True)]
    left_out = columns_left_out(header, rows, width, leave_out_first, wraps)
    header, rows = without_columns(header, rows, left_out)
    fitted = Table(title=table.title, caption=left_out_caption(left_out, width, "--out FILE"))
    for name, column_width in zip(header, fitted_widths(header, rows, width, wraps),
                                  strict=True):
        fitted.add_column(name, justify=justify[name], width=column_width, overflow="fold")
    for row in rows:
        fitted.add_row(*map(escape, row))
    return fitted
