"""`cnnlab bench throughput`: training and inference speed per model, each row printed
and stored as it is measured, against the plain fp32 eager step timed in the same run.
Registered on the `cnnlab bench` group (cnnlab/cli/bench.py holds the other benches and
the options they share)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.atomic import atomic_write_text
from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM
from cnnlab.train.config import OPTIMIZERS

from .bench import (
    THROUGHPUT_AMP,
    console,
    model_names,
    one_of,
    resolve_device,
)
from .hints import hint_at_a_busy_cpu
from .messages import err, fail, print_table
from .paths import output_file


def register(bench_app: typer.Typer) -> None:
    bench_app.command("throughput")(throughput)


def throughput(
    models: str = typer.Option("resnet18_d2l", metavar="PATTERN",
                               help="Pattern of model names, or several separated by commas."),
    batch_size: int = typer.Option(64, min=1, help="Start here; halved on out-of-memory."),
    image_size: int = typer.Option(None, min=1, help="Input side (default: each model's own)."),
    device: str = typer.Option("auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps."),
    amp: str = typer.Option("off", callback=one_of("auto", *THROUGHPUT_AMP),
                            help="off, bf16, fp16, or auto (as train's: bf16 on CUDA, off "
                                 "elsewhere)."),
    channels_last: bool = typer.Option(False, "--channels-last/--no-channels-last",
                                       help="NHWC memory layout for model and input."),
    compile: bool = typer.Option(False, "--compile/--no-compile",
                                 help="torch.compile the step (compile time is not timed)."),
    pad_stem: int = typer.Option(0, "--pad-stem", "--pad-stem-channels", min=0,
                                 help="Compute the first convolution on this many input "
                                      "channels, zeros added (4: the fast kernels; 0 = off)."),
    steps: int = typer.Option(5, min=1, help="Timed steps (after 2 warm-up steps): each "
                                               "row gives their median and range."),
    infer: bool = typer.Option(True, "--infer/--no-infer",
                               help="Also time inference (compiled: a second compilation)."),
    optimizer: list[str] = typer.Option(
        ["sgd"], callback=one_of(*OPTIMIZERS),
        help="Optimizer of the training step, built as training builds it; repeat to "
             "compare (--optimizer nesterov --optimizer muon): each later row's train "
             "speed is its training img/s over the first's (above 1: faster)."),
    profile: int = typer.Option(0, min=0, help="Then profile this many training steps and "
                                               "print the operators that took the most time."),
    override: list[str] = typer.Option(
        None, metavar="KEY=VALUE",
        help="A model option KEY=VALUE (training's model_overrides), repeatable: "
             "'convs_per_stage=[1, 1, 1]' times a shallower speednet_gpu. Not "
             "num_classes, in_channels, weights, scratch_ops or image_size (use "
             "--image-size): the bench sets those itself."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline",
        help="With --amp, --channels-last, --compile or --pad-stem: also time each model's "
             "plain step (fp32, NCHW, eager, same batch and optimizer) first, and give "
             "each row's training speed as a multiple of it."),
    peak_tflops: float = typer.Option(None, min=0.001, metavar="TFLOPS", help=(
        "The card's dense peak TFLOP/s for the step's math, for the 'of peak' column on a "
        "card cnnlab does not know (it knows the H100, H200 and A100).")),
    out: Path = typer.Option(None, help="Write rows here (.csv or .json).",
                             callback=output_file(".csv", ".json")),
    threads: int = typer.Option(None, min=1, help="torch CPU threads (default: one per core; "
                                "1 is steadiest on a busy CPU, where the LeNets ran "
                                "20-89x slower with 2 than with 1 and ResNet-18 2x "
                                "faster: BENCHMARKS.md, Threads on a busy CPU); the "
                                "table and the file say the count."),
) -> None:
    """Train and inference samples/s, step time and peak memory per model, against the
    plain fp32 eager step measured in the same run.

    Each step is timed: rows give the median and the fastest and slowest step. Training
    FLOP/s count 6 x forward MACs per image (2 FLOPs per multiply-add, backward taken as
    twice the forward; convolutions and matrix products only). Peak memory is the CUDA
    allocator's, per model; a CPU has no per-model counter, so it is left empty there.
    On a GPU whose data sheet cnnlab knows (or given --peak-tflops), 'of peak' is the
    training FLOP/s over the card's dense peak for the step's math."""
    from cnnlab.bench.throughput import benchmark_rows
    from cnnlab.models import model_info

    names = model_names(models)
    if image_size is not None:  # before any model is timed
        too_small = [f"{n} (at least {model_info(n).min_input_size})" for n in names
                     if image_size < model_info(n).min_input_size]
        if too_small:
            fail(f"--image-size {image_size} is too small for {', '.join(too_small)}; "
                 "give a larger --image-size, or leave it out for each model's own size", code=2)
    overrides = _model_overrides(names, override)
    dev = resolve_device(device)
    hint_at_a_busy_cpu(threads, dev)
    if amp == "auto":  # the table and the rows say the cast measured
        import torch

        from cnnlab.train.device import resolve_amp

        amp = resolve_amp(amp, torch.device(dev))
    plain = amp == "off" and not channels_last and not compile and not pad_stem
    with_baseline = baseline and not plain  # a plain sweep is its own baseline
    rows: list[dict] = []
    total, interrupted = len(names) * (len(optimizer) + with_baseline), False
    common = dict(device=dev, steps=steps, model_overrides=overrides, infer=infer)
    asked = dict(amp=amp, channels_last=channels_last, compile=compile, pad_stem=pad_stem,
                 profile_steps=profile)
    try:
        # Each row is printed and stored as soon as it is measured: a sweep cut short
        # (Ctrl-C, or `timeout`'s SIGTERM on a rented GPU) keeps every finished model.
        from cnnlab.train.device import torch_threads

        with _sigterm_as_interrupt(), torch_threads(threads) as measured_threads:
            for name in names:
                runs = [(optimizer[0], True)] if with_baseline else []
                for opt, is_baseline in runs + [(o, False) for o in optimizer]:
                    options = {"optimizer": opt, **common, **({} if is_baseline else asked)}
                    [r] = benchmark_rows([name], batch_size, image_size, **options)
                    r["baseline"] = is_baseline
                    if peak_tflops is not None and not is_baseline:  # its math's peak
                        r["peak_tflops"], r["peak_of"] = peak_tflops, "--peak-tflops"
                    _compare(r, rows, optimizer[0])
                    rows.append(r)
                    _report_throughput_row(r, len(rows), total, len(optimizer) > 1, profile,
                                           out)
                    _store(rows, out, dev, measured_threads)
    except KeyboardInterrupt:
        interrupted = True
    if not rows:
        err.print("[yellow]interrupted[/] before the first model was measured")
        raise typer.Exit(interrupted_status())
    _store(rows, out, dev, measured_threads)  # a signal may have cut the last write
    table = throughput_table(rows, dev, steps, console.width, measured_threads)
    print_table(console, table)  # its ~600-character caption wrapped at words in a terminal
    if out is not None:
        console.print(f"rows written to {escape(str(out))}")
    failed = [r["model"] for r in rows if r["note"].startswith("failed")]
    if interrupted:
        console.print(f"[yellow]interrupted[/]: {len(rows)} of {total} rows measured "
                      "(stored as they came)")
        raise typer.Exit(interrupted_status())
    if failed:
        fail(f"{len(failed)} of {total} rows failed ({', '.join(failed)}): see their notes")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (what `timeout` sends) stops the bench as Ctrl-C does, so the rows measured
    so far are shown and kept instead of the process just ending."""
    from cnnlab.interrupts import sigterm_as_interrupt

    put_back = sigterm_as_interrupt()
    try:
        yield
    finally:
        put_back()


def _compare(row: dict, rows: list[dict], first: str) -> None:
    """The row's training speed against the same model's baseline row (the plain step)
    or, for a later optimizer, against the first optimizer's row: ``train_speed_ratio``
    is its images/s over theirs (above 1: faster), ``train_speed_ratio_min``/``_max``
    the range the two rows' fastest and slowest steps allow, ``ratio_vs`` what it is
    against. Per image, not per step: an out-of-memory retry may have halved one row's
    batch. None where there is nothing to compare."""
    def same_model(r: dict) -> bool:
        return r["model"] == row["model"] and r["optimizer"] == first

    def measured(r: dict | None) -> bool:  # a failed row's numbers are NaN
        return r is not None and math.isfinite(r["train_samples_per_s"])

    ref, vs = None, ""
    if row["baseline"]:
        row["note"] = "; ".join(n for n in (row["note"], "baseline: fp32, NCHW, eager") if n)
    elif row["optimizer"] == first:
        ref, vs = next((r for r in rows if same_model(r) and r["baseline"]), None), "baseline"
    else:
        ref, vs = next((r for r in rows if same_model(r) and not r["baseline"]), None), first
    ratio = lo = hi = None
    if measured(ref) and measured(row):
        ratio = row["train_samples_per_s"] / ref["train_samples_per_s"]
        # images/s per ms of step: the slowest of this row against the fastest of the
        # reference bounds the ratio below, and the other way round above.
        per_image = row["batch_size"] / ref["batch_size"]
        lo = ref["train_step_ms_min"] / row["train_step_ms_max"] * per_image
        hi = ref["train_step_ms_max"] / row["train_step_ms_min"] * per_image
        if ref["batch_size"] != row["batch_size"]:  # said beside the ratio, not only in a note
            vs += f" (its batch {ref['batch_size']}, this one {row['batch_size']})"
    row.update(train_speed_ratio=ratio, train_speed_ratio_min=lo, train_speed_ratio_max=hi,
               ratio_vs=vs if ratio is not None else "")


def _share_of_peak(row: dict) -> str:
    """'41.3%': the row's training FLOP/s over its card's peak; "-" where there is none."""
    if not row.get("peak_tflops") or not math.isfinite(row["train_tflops"]):
        return "-"
    from cnnlab.formatting import sig3

    return f"{sig3(100 * row['train_tflops'] / row['peak_tflops'])}%"


def setting_text(row: dict) -> str:
    """'bf16, NHWC, compiled, stem 4 ch' or 'fp32, NCHW, eager': what was timed. The
    layout is named as a pair, NCHW or NHWC (--channels-last), not "channels_last", a
    word too long for a 60-column table to keep whole."""
    parts = [row["amp"] if row["amp"] != "off" else "fp32",
             "NHWC" if row["channels_last"] else "NCHW",
             "compiled" if row["compile"] else "eager"]
    if row.get("pad_stem"):
        parts.append(f"stem {row['pad_stem']} ch")
    return ", ".join(parts)


def _flops_unit(rows: list[dict]) -> tuple[str, float]:
    """One unit for the column, by its largest value: ('GFLOP/s', 1e9) on a CPU."""
    top = max((r["train_tflops"] * 1e12 for r in rows
               if r["train_tflops"] is not None and math.isfinite(r["train_tflops"])),
              default=0.0)
    for name, scale in (("TFLOP/s", 1e12), ("GFLOP/s", 1e9)):
        if top >= scale:
            return name, scale
    return "MFLOP/s", 1e6


def throughput_table(rows: list[dict], dev: str, steps: int,
                     width: int | None = None, threads: int | None = None) -> Table:
    """The rows as a table, numbers to three significant figures: one run's steps vary
    (their range is shown), and runs on a shared machine vary more. Given a console's
    ``width``, the columns that do not fit are left out, and the caption names them.
    ``threads``: the torch CPU threads they ran on, said in the title as the file says
    it (the memory and ops benches' titles said theirs, this one's did not)."""
    from cnnlab.bench.results import machine_name
    from cnnlab.bench.throughput import FLOPS_RULE
    from cnnlab.formatting import (
        columns_left_out,
        counted,
        fitted_widths,
        left_out_caption,
        sig3,
    )

    settings = list(dict.fromkeys(setting_text(r) for r in rows))
    optimizers = list(dict.fromkeys(r["optimizer"] for r in rows))
    compared = any(r.get("train_speed_ratio") is not None for r in rows)
    unit, scale = _flops_unit(rows)
    title = f"throughput on {dev} ({machine_name(dev)})"
    if threads is not None:
        title += f", {counted(threads, 'thread')}"
    if len(settings) == 1:
        title += f", {settings[0]}"
    if len(optimizers) == 1:
        title += f", optimizer {optimizers[0]}"
    batches = list(dict.fromkeys(r["batch_size"] for r in rows))
    if len(batches) == 1:  # a column only where an out-of-memory retry halved one
        title += f", batch {batches[0]}"
    caption = (f"Median of {steps} timed step(s) after 2 warm-up steps; in brackets the "
               "fastest and slowest step. Repeated runs on a shared machine differ more "
               f"than that. {FLOPS_RULE[0].upper() + FLOPS_RULE[1:]}. peak MiB: the CUDA "
               "allocator's peak for the model; n/a off CUDA (no per-model counter).")
    peaks = list(dict.fromkeys((r["peak_of"], r["peak_tflops"]) for r in rows
                               if r.get("peak_tflops")))
    if peaks:
        sheets = any(of != "--peak-tflops" for of, _ in peaks)  # a given one is no sheet's
        caption += (" of peak: training FLOP/s over the card's dense peak for the step's "
                    "math (" + "; ".join(f"{of}: {sig3(peak)} TFLOP/s" for of, peak in peaks)
                    + ("; data sheets' boost clock, without sparsity)." if sheets else ")."))
    if compared:
        caption += (" train speed: training img/s over the baseline's (or the first "
                    "optimizer's), above 1 faster; in brackets the range the steps allow.")
    columns = ["model"] + (["setting"] if len(settings) > 1 else []) \
        + (["optimizer"] if len(optimizers) > 1 else []) \
        + ["input"] + (["batch"] if len(batches) > 1 else []) \
        + ["train img/s", "train step ms", f"train {unit}"] + (["of peak"] if peaks else []) \
        + ["infer img/s", "peak MiB"] \
        + (["train speed"] if compared else []) + ["note"]
    cells = [{
        "model": r["model"], "setting": setting_text(r), "optimizer": r["optimizer"],
        "input": r["input_size"], "batch": str(r["batch_size"]),
        "train img/s": _rate(r["train_samples_per_s"]),
        "train step ms": _step(r, "train"),
        f"train {unit}": _finite_text(r["train_tflops"], lambda v: sig3(v * 1e12 / scale)),
        "of peak": _share_of_peak(r),
        "infer img/s": _rate(r["infer_samples_per_s"]),
        "peak MiB": _finite_text(r.get("peak_memory_mib"), sig3, missing="n/a"),
        "train speed": _speed(r), "note": r["note"],
    } for r in rows]
    # A narrow terminal goes first without the columns that say nothing here (no note;
    # no peak off CUDA), then without the step times and the FLOP/s.
    empty = [c for c in ("note", "peak MiB") if all(row[c] in ("", "n/a") for row in cells)]
    # Text that breaks at its spaces is measured by its longest word and wraps there,
    # so that the numbers and the names stay whole (train img/s had read "1…" at 80
    # columns, the optimizer header "optim…" at 60).
    wraps = ("setting", "train speed", "note")
    # A failed row's note ("failed: ...") stays: without it the row was told apart only
    # by its red and its "-" cells, and under NO_COLOR by the "-" alone.
    failed = any(r["note"].startswith("failed") for r in rows)
    left_out = columns_left_out(
        columns, [[row[c] for c in columns] for row in cells], width,
        [*empty, "train step ms", "of peak", f"train {unit}", "input", "peak MiB",
         "infer img/s" if failed else "note"], wraps)
    columns = [c for c in columns if c not in left_out]
    if left_out:
        caption += " " + left_out_caption(left_out, width, "--out FILE.csv")
    table = Table(title=title, caption=caption)
    for col, column_width in zip(columns, fitted_widths(
            columns, [[row[c] for c in columns] for row in cells], width, wraps), strict=True):
        # fold, never cut: a number too wide for its column goes on the next line
        table.add_column(col, width=column_width, overflow="fold", justify="left" if col in (
            "model", "setting", "optimizer", "train speed", "note") else "right")
    for r, row in zip(rows, cells, strict=True):
        table.add_row(*(row[c] for c in columns),
                      style="red" if r["note"].startswith("failed") else None)
    return table


def _finite_text(value, fmt, missing: str = "-") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return fmt(value)


def _step(row: dict, phase: str) -> str:
    """'6.74 (6.10-7.93)': the median step and the fastest and slowest, in ms."""
    from cnnlab.formatting import sig3

    median = row[f"{phase}_step_ms"]
    if not math.isfinite(median):
        return "-"
    lo, hi = row.get(f"{phase}_step_ms_min"), row.get(f"{phase}_step_ms_max")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return sig3(median)
    return f"{sig3(median)} ({sig3(lo)}-{sig3(hi)})"


def _speed(row: dict) -> str:
    """'1.1x baseline (0.93-1.3)': two significant figures, the runs' noise allows no more."""
    ratio = row.get("train_speed_ratio")
    if ratio is None:
        return ""
    text = f"{_two_figures(ratio)}x {row['ratio_vs']}"
    lo, hi = row.get("train_speed_ratio_min"), row.get("train_speed_ratio_max")
    if lo is not None and hi is not None:
        text += f" ({_two_figures(lo)}-{_two_figures(hi)})"
    return text


def _two_figures(value: float) -> str:
    """1.0, 0.93, 12: two significant figures, a trailing zero kept ('1x' read as rounded
    from anything)."""
    return f"{value:#.2g}".rstrip(".")


def _rate(images_per_s: float | None) -> str:
    """Images/s for a table, to three significant figures: '-' for one not measured (NaN:
    --no-infer, a failed model)."""
    from cnnlab.formatting import sig3

    return _finite_text(images_per_s, sig3)


def _report_throughput_row(r: dict, done: int, total: int, several_optimizers: bool,
                           profile: int, out: Path | None) -> None:
    which = f"{r['model']}-{r['optimizer']}" if several_optimizers else r["model"]
    console.print(f"[{done}/{total}] {which}: train {_rate(r['train_samples_per_s'])} img/s, "
                  f"infer {_rate(r['infer_samples_per_s'])} img/s at batch {r['batch_size']}"
                  + (f" ({r['note']})" if r["note"] else ""), highlight=False, markup=False)
    if r["profile"]:
        console.print(f"[bold]{which}[/]: {profile} training steps, by device time")
        console.print(r["profile"], markup=False, highlight=False, soft_wrap=True)
        if out is not None:
            from cnnlab.train.runlog import file_name_for

            path = out.with_name(f"{out.stem}-profile-{file_name_for(which)}.txt")
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, r["profile"])
            console.print(f"profile written to {escape(str(path))}")


def _store(rows: list[dict], out: Path | None, device: str, threads: int) -> None:
    """Every row so far, replacing ``out`` (atomically: a kill mid-write leaves the last
    whole version); a CSV leaves out the profiles, JSON says the machine and the torch
    threads the rows were measured on."""
    if out is not None:
        from cnnlab.bench.results import write_rows

        write_rows(out, rows, device, leave_out=("profile",), threads=threads)


# The model options the bench sets itself, for every model it times: an --override of
# one is refused (it was passed twice, or a head sized for one input timed at another),
# and a refusal's list of the options a model takes leaves them out.
_BENCH_SETS = {"num_classes": "it times a 10-class classifier",
               "in_channels": "each model takes its own input channels",
               "weights": "it times random weights: the speed does not depend on them",
               "scratch_ops": "it times PyTorch's layers",
               "image_size": "give --image-size, which sizes the input too"}


def _model_overrides(names: list[str], items: list[str] | None) -> dict:
    """``--override`` values read as training reads ``model_overrides`` and checked
    against every model (built on the meta device) before any is timed: a typo names
    the closest options and lists those the bench takes; an option the bench sets itself
    (:data:`_BENCH_SETS`) is refused, saying so."""
    if not items:
        return {}
    import difflib

    import torch

    from cnnlab.models import get_model
    from cnnlab.models._registry import ModelOptionError
    from cnnlab.train.config import ConfigError, parse_assignments

    try:
        overrides = parse_assignments(items, "--override", "a model option",
                                      "'widths=[8, 16, 32]'")
    except ConfigError as exc:
        fail(str(exc), code=2)
    for key, value in overrides.items():
        if key in _BENCH_SETS:
            fail(f"--override {key}={value}: the bench sets {key} itself "
                 f"({_BENCH_SETS[key]}); leave it out", code=2)
    for name in names:
        try:
            with torch.device("meta"):  # no memory, no initialisation
                get_model(name, **overrides)
        except ModelOptionError as exc:
            takes = [o for o in exc.accepted if o not in _BENCH_SETS]
            close = difflib.get_close_matches(exc.option, takes, n=3, cutoff=0.5)
            fail(f"--override {exc.option}: {name} has no such option."
                 + (f" Did you mean: {', '.join(close)}?" if close else "")
                 + (f" It takes: {', '.join(takes)}." if takes else " It takes none."),
                 code=2)
        except (TypeError, ValueError) as exc:  # a value the model refuses
            fail(f"--override {' '.join(items)}: {name}: {exc}", code=2)
        except Exception:  # noqa: BLE001 - a builder the meta device cannot run: its row says
            pass
    return overrides
