"""`cnnlab design ...`: sample design spaces, run resumable sweeps, analyse them."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import format_count
from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM
from cnnlab.train.config import MAX_THREADS

from . import messages
from .messages import err, output_console, print_table
from .paths import dataset_name, folder_text

# A sweep's seed is stored in trials.sqlite, whose INTEGER is signed 64-bit (2**64 failed
# there with a traceback; numpy's generators refuse a negative one, as a traceback too);
# create_sweep refuses one whose last trial's seed + i overflows.
SQLITE_MAX = 2**63 - 1
MAX_WORKERS = 4096  # trials at once; 10**12 failed in multiprocessing's C-int semaphores

app = typer.Typer(help="Design-space exploration: AnyNetX A-E and RegNet sweeps, EDFs, "
                       "KS tests.", no_args_is_help=True)
console = output_console()

SPACES_HELP = ("anynetx_a (free), _b (shared b), _c (shared g), _d (widths up), _e (depths up), "
               "or regnetx.")


def fail(message: str, code: int = 2) -> NoReturn:
    # Exit 2 for a refusal (messages.py has the rule for every command); 1 where a valid
    # sweep could not be done: its data missing or damaged, Ray absent or out of reach.
    messages.fail(message, code=code)


def _fail_known(exc: Exception) -> NoReturn:
    from cnnlab.data.dataset import DataError
    from cnnlab.design.executors import SweepFailure

    missing_or_damaged = isinstance(exc, DataError) and not messages.invalid_request(exc)
    fail(str(exc), code=1 if missing_or_damaged or isinstance(exc, SweepFailure) else 2)


def _known_errors():
    from cnnlab.data.dataset import DataError
    from cnnlab.design.spaces import DesignSpaceError
    from cnnlab.design.store import SweepError
    from cnnlab.train import ConfigError

    return (DesignSpaceError, SweepError, ConfigError, DataError)


def _warn_of_no_band(directory) -> None:
    """A sweep without --macs draws networks of every complexity: the paper compares
    spaces inside one narrow band, and normalising EDFs over a wide range corrects for
    complexity only in part (bins of very different networks)."""
    from cnnlab.design.store import TrialStore

    with TrialStore(directory) as store:
        macs = sorted(t["macs"] for t in store.trials())
    low, high = macs[len(macs) // 10], macs[-1 - len(macs) // 10]
    messages.warning(f"no --macs band: these {len(macs)} networks range over every complexity "
                     f"(80% of them from {format_count(low)} to {format_count(high)} MACs). "
                     "The RegNet paper compares spaces inside one narrow band; give one "
                     f"(e.g. --macs {format_count(low)}-{format_count(low * 4)}) for EDFs that "
                     "compare spaces rather than sizes")


def _planned(directory: Path) -> int:
    """How many trials the sweep in ``directory`` plans; 0 when there is none."""
    from cnnlab.design.store import DB_NAME, TrialStore

    if not (directory / DB_NAME).is_file():
        return 0
    with TrialStore(directory) as store:
        return store.planned()


@app.command("run")
def run(
    space: str = typer.Option(None, help=SPACES_HELP),
    n: int = typer.Option(None, "--n", "-n", min=1, help="Trials in the sweep (default 100). With "
                                            "--resume, a larger N extends the sweep."),
    epochs: int = typer.Option(None, help="Epochs per trial (default 10, the paper's)."),
    macs: str = typer.Option(None, metavar="LOW-HIGH", help="Complexity band LOW-HIGH in "
                             "multiply-adds at the data's size, e.g. 5M-20M."),
    data: str = typer.Option(None, callback=dataset_name(),
                             help="fashion-mnist (default), folder:PATH or synthetic."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Folder holding the dataset files (with --resume: "
                                       "where they are now)."),
    train_subset: int = typer.Option(None, min=1,
                                     help="Train on the first N training images only."),
    out: Path = typer.Option(None, metavar="DIR",
                             help="Sweep directory (holds trials.sqlite): new, empty, or this "
                                  "sweep's to extend it."),
    resume: Path = typer.Option(None, metavar="DIR", help="Finish the sweep in this directory."),
    seed: int = typer.Option(None, min=0, max=SQLITE_MAX,
                             help="Seeds the sampling; trial i trains with seed+i "
                                  "(default 0)."),
    lr: float = typer.Option(None, help="Learning rate (default 0.05, cosine)."),
    batch_size: int = typer.Option(None, help="Batch size (default 128)."),
    device: str = typer.Option(None, help="auto, cpu, cuda ... Checked before anything is "
                                          "created. With --resume, the rest of the sweep "
                                          "trains there."),
    set_: list[str] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                   help="A TrainConfig field, KEY=VALUE (repeatable), e.g. "
                                        "--set eval_subset=2000. Fields the sweep sets "
                                        "itself (model, seed, data, ...) are refused."),
    retry_failed: bool = typer.Option(False, "--retry-failed",
                                      help="Train the sweep's failed trials again. Without "
                                           "it they stay failed: a trial that failed on its "
                                           "network would fail again."),
    zero_init: bool = typer.Option(None, "--zero-init/--no-zero-init",
                                   help="Start each X block as the identity (zero final BN "
                                        "gamma; default on): short sweeps need it."),
    executor: str = typer.Option("local", help="local (worker processes) or ray."),
    workers: int = typer.Option(None, min=1, max=MAX_WORKERS,
                                help="Trials at once (default: local, one per GPU, else 1; "
                                     "ray, as many as the nodes hold at --threads each)."),
    threads: int = typer.Option(None, min=1, max=MAX_THREADS,
                                help="torch CPU threads per trial (default: cores / workers, "
                                     "also for a Ray started here; 1 on a Ray cluster)."),
    address: str = typer.Option(None, help="Ray cluster address (default: $RAY_ADDRESS if "
                                           "set, else start Ray here)."),
) -> None:
    """Train N networks drawn from a design space; every trial is stored as it finishes.

    Killed at any moment, `cnnlab design run --resume DIR` finishes the sweep without
    training a finished trial again. Running the same command again does the same.
    Failed trials are kept as failed unless --retry-failed is given; --resume DIR
    --device cpu moves a sweep whose device failed it.
    """
    from dataclasses import replace

    from cnnlab.atomic import first_missing_folder
    from cnnlab.design.describe import at_chance_note, error_decimals, few_steps_note
    from cnnlab.design.executors import check_executor
    from cnnlab.design.folders import remove_untrained_sweep
    from cnnlab.design.runner import SweepInterrupted, create_sweep, run_sweep, sweep_lock
    from cnnlab.design.spaces import parse_band
    from cnnlab.design.store import DB_NAME, SweepSpec, TrialStore
    from cnnlab.train.config import parse_assignments
    from cnnlab.train.run_files import move_data

    # What the options alone decide is refused first: once the sweep is created, a
    # refusal would leave behind a sweep that never trained (or a lock file in a folder).
    if resume is not None:
        given = {"--space": space, "--epochs": epochs, "--macs": macs, "--lr": lr,
                 "--batch-size": batch_size, "--train-subset": train_subset,
                 "--set": set_ or None, "--zero-init/--no-zero-init": zero_init,
                 "--data": data, "--seed": seed}
        extra = [k for k, v in given.items() if v is not None]
        if extra:
            fail(f"--resume continues the sweep as it was created; drop {', '.join(extra)}")
        if out is not None and out != resume:
            fail("give either --resume DIR or --out DIR, not both")
    elif space is None or out is None:
        fail("a new sweep needs --space and --out (or --resume DIR)")
    lock = contextlib.ExitStack()
    # A sweep this command creates: removed again if nothing trained before a refusal
    # (no node holds a trial, a cluster not joined), as if never made.
    new_sweep = None if resume is not None or (Path(out) / DB_NAME).exists() else (
        Path(out), first_missing_folder(out))
    spec = None  # the sweep this command asks for, once made
    try:
        check_executor(executor, address, workers)
        # One driver per sweep, from reopening it (which may move its device or put its
        # failed trials back) to its last trial.
        lock.enter_context(sweep_lock(resume if resume is not None else out))
        planned = _planned(resume if resume is not None else out)
        if n is not None and n < planned:  # all `planned` train, which went unsaid
            # Not refused: the command that created a sweep, run again, finishes it.
            messages.warning(f"--n {n} is below the {planned} trials "
                             f"{resume if resume is not None else out} already plans: a sweep "
                             f"does not shrink, all {planned} train (stop it with Ctrl-C; "
                             "finished trials are kept)")
        if resume is not None:
            directory = resume
            with TrialStore(directory) as store:
                spec, planned = store.spec(), store.planned()
            if device is not None:  # where it trains, not what: the sweep stays the same
                spec = replace(spec, train={**spec.train, "device": device})
            if data_root is not None:  # where its data is now (a folder's is its spec)
                spec = move_data(spec, data_root)
            # Checks the device and draws trials not drawn yet, or more with --n.
            create_sweep(directory, spec, max(n or 0, planned, 1))
        else:
            train = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size),
                                       ("device", device)) if v is not None}
            train.update(parse_assignments(set_))
            spec = SweepSpec(space=space, seed=seed or 0, macs=parse_band(macs),
                             data=data or "fashion-mnist", data_root=data_root,
                             train_subset=train_subset, train=train,
                             zero_init_last_bn=zero_init is not False)
            with console.status("drawing trials ..."):
                # Run again without --n, an existing sweep keeps its size (not 100).
                create_sweep(out, spec, n or _planned(out) or 100)
            directory = out
            if spec.macs is None:
                _warn_of_no_band(directory)
        # A new sweep's lock is taken once it exists (none before: see sweep_lock); a
        # second run started beside this one is refused here, before it says anything.
        lock.enter_context(sweep_lock(directory))
        with TrialStore(directory) as store:
            if retry_failed:
                store.retry_failed()
            counts, total = store.counts(), store.count()
            # As many as the test images hold, as the report gives them (error_decimals)
            decimals = error_decimals(store.spec().to_dict())
            few_steps = few_steps_note(store.spec().to_dict())
        console.print(f"sweep {directory}: {total} trials, {counts['done']} done, "
                      f"{counts['failed']} failed, {total - counts['done'] - counts['failed']} "
                      f"to train ({executor})")
        if few_steps and total > counts["done"] + counts["failed"]:  # before it trains them
            err.print(f"note: {escape(few_steps)}")
        progress = {"finished": counts["done"] + counts["failed"]}
        bar = _sweep_bar()
        task = bar.add_task("trials", total=total, completed=progress["finished"])

        def report(row: dict) -> None:
            progress["finished"] += 1
            bar.advance(task)
            head = f"[{progress['finished']}/{total}] trial {row['id']}"
            if row["status"] == "done":
                console.print(f"{head}: error {row['error_pct']:.{decimals}f}% "
                              f"({format_count(row['macs'])} MACs, "
                              f"{row['train_time_s']:.1f} s)", highlight=False)
            else:
                console.print(f"{head}: [red]failed[/] {escape(row['message'] or '')}")

        with bar:
            counts = run_sweep(directory, executor=executor, workers=workers, threads=threads,
                               address=address, on_result=report)
    except SweepInterrupted as exc:
        err.print(f"[yellow]interrupted[/]: {escape(str(exc))}")
        raise typer.Exit(interrupted_status()) from None
    except _known_errors() as exc:
        lock.close()
        if new_sweep is not None and spec is not None:
            remove_untrained_sweep(*new_sweep, spec)
        typed = {"epochs": epochs, "lr": lr, "batch_size": batch_size}  # None: not given
        _fail_known(messages.named_by_its_flag(
            exc, {field: value for field, value in typed.items() if value is not None}))
    finally:
        lock.close()
    # Nothing done: "Analyse with" led to an analysis that has nothing to show.
    console.print(f"{counts['done']} done, {counts['failed']} failed." + (
        f" Analyse with: cnnlab design analyze {directory}" if counts["done"] else ""))
    with TrialStore(directory) as store:  # all at chance: a sweep too short to learn
        at_chance = at_chance_note([r["error_pct"] for r in store.trials("done")],
                                   store.spec().num_classes)
    if at_chance:
        err.print(f"note: {escape(at_chance)}")
    if counts["failed"]:
        console.print(f"failed trials are kept as they are; train them again with: "
                      f"{escape(_continue_command(directory))} --retry-failed",
                      highlight=False)
    if counts["failed"] and not counts["done"]:
        # Nothing to analyse: a script must see it (it exited 0, as for a good sweep).
        fail(f"every trial of {directory} failed (each one's error is printed above, and "
             "kept in its trials.sqlite): nothing to analyse", code=1)


def _sweep_bar():
    """Trials done, time so far and left, kept below the result lines in a terminal: a
    trial trains for minutes with nothing else printed (a log file gets the lines alone)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from cnnlab.progress import ProgressBar

    return ProgressBar(TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                       transient=True)  # drawn where shows_live


@app.command("analyze")
def analyze(
    directories: list[Path] = typer.Argument(..., metavar="SWEEP",
                                             help="Sweep folders to compare (one or more)."),
    out: Path = typer.Option(None, metavar="DIR",
                             help="Report folder: new, empty, or an earlier report's (default: "
                                  "SWEEP/analysis for one sweep, ./design-analysis for several)."),
    bins: int = typer.Option(10, min=1, help="Log-spaced MACs bins of the normalised EDF."),
    resamples: int = typer.Option(2000, min=19, help="Bootstrap resamples (the best of m) and "
                                  "permutations (the normalised test's p-value, which "
                                  "cannot go below 1/(1 + N): 19 or more to reach 0.05)."),
    seed: int = typer.Option(0, min=0, help="Seeds the bootstrap and the permutations."),
) -> None:
    """EDFs of error, complexity-normalised EDFs, KS tests, best-of-m; PNG, HTML, Markdown."""
    from cnnlab.design.report import InterruptedAfterWriting, NothingFinished
    from cnnlab.design.report import analyze as run_analysis

    if out is None:
        out = directories[0] / "analysis" if len(directories) == 1 else Path("design-analysis")
    try:
        summary = run_analysis(directories, out, bins=bins, resamples=resamples, seed=seed)
    except InterruptedAfterWriting:
        err.print(f"[yellow]interrupted[/] once the report was written, whole: "
                  f"{escape(str(out / 'report.html'))}")
        raise typer.Exit(interrupted_status()) from None
    except KeyboardInterrupt:  # was silent: what is in --out now?
        err.print(f"[yellow]interrupted[/]: nothing written to {escape(str(out))} (a report "
                  "already there is as it was); run the command again for the report")
        raise typer.Exit(interrupted_status()) from None
    except NothingFinished as exc:  # a valid request with nothing to do, as `run`'s
        fail(str(exc), code=1)  # "every trial failed: nothing to analyse"
    except _known_errors() as exc:
        _fail_known(exc)
    from cnnlab.design.report_text import brief_tables, verdict_lines

    # The tables that fit a terminal and the verdicts; the rest is in the files named last.
    for title, header, rows in brief_tables(summary):
        table = Table(*header, title=title, title_justify="left", highlight=False)
        for row in rows:
            table.add_row(*map(escape, row))
        print_table(console, table)
    for line in [*verdict_lines(summary), "the setup, best networks, figures and notes are "
                 "in the report (also summary.md, summary.json, plots):"]:
        # wrapped at words in a terminal, whole in a file or a pipe
        console.print(line, markup=False, highlight=False, soft_wrap=not console.is_terminal)
    # A path is never broken by a wrap: pasted, a part of it named nothing.
    console.print(f"report: {out / 'report.html'}", markup=False, highlight=False, soft_wrap=True)
    for space in summary["spaces"]:
        if "best_error" not in space:  # in the tables as "no finished trial", unsaid here
            messages.warning(f"{space['directory']} has no finished trial: the report "
                             "counts its trials, and draws and compares the other sweeps")


@app.command("sample")
def sample(
    space: str = typer.Option(..., help=SPACES_HELP),
    n: int = typer.Option(5, "--n", "-n", min=1, help="How many networks to draw."),
    macs: str = typer.Option(None, metavar="LOW-HIGH",
                             help="Complexity band LOW-HIGH, e.g. 5M-20M."),
    image_size: int = typer.Option(28, help="Input side the band refers to."),
    in_channels: int = typer.Option(1, min=1, help="Input channels the networks take."),
    num_classes: int = typer.Option(10, min=1, help="Outputs of their classifier."),
    seed: int = typer.Option(0, min=0, help="Sampling seed: network i is the sweep's trial i."),
) -> None:
    """Draw networks from a space and show their complexity, without training anything."""
    from cnnlab.design.spaces import parse_band, sample_trial

    from .design_sample import sample_row, sample_table

    try:
        band = parse_band(macs)
        rows = [sample_row(i, sample_trial(space, seed, i, image_size=image_size,
                                           in_channels=in_channels, num_classes=num_classes,
                                           macs=band)) for i in range(n)]
    except _known_errors() as exc:
        _fail_known(exc)
    print_table(console, sample_table(f"{space} at {in_channels}x{image_size}x{image_size}",
                                      rows, image_size, console.width))


@app.command("status")
def status(directory: Path = typer.Argument(..., metavar="SWEEP",
                                            help="A sweep's folder.")) -> None:
    """How far a sweep is: trials per status and the best error so far."""
    from cnnlab.design.describe import error_decimals
    from cnnlab.design.spaces import format_band
    from cnnlab.design.store import TrialStore
    from cnnlab.design.sweep_spec import PAPER_RECIPE

    try:
        with TrialStore(directory) as store:
            spec, counts, done = store.spec(), store.counts(), store.trials("done")
    except _known_errors() as exc:
        _fail_known(exc)
    epochs = {**PAPER_RECIPE, **spec.train}["epochs"]
    plural = "" if epochs == 1 else "s"
    console.print(f"{spec.space}, seed {spec.seed}, {format_band(spec.macs)} MACs at "
                  f"{spec.image_size}x{spec.image_size}, {epochs} epoch{plural}, "
                  f"data {spec.data}: "
                  + ", ".join(f"{v} {k}" for k, v in counts.items()), highlight=False)
    if done:
        best = min(done, key=lambda r: r["error_pct"])
        console.print(f"best so far: trial {best['id']}, error "
                      f"{best['error_pct']:.{error_decimals(spec.to_dict())}f}%, "
                      f"{format_count(best['macs'])} MACs", highlight=False)
    _say_who_trains(directory, counts)


def _say_who_trains(directory: Path, counts: dict) -> None:
    """Whether a `design run` trains the sweep now, or the command that finishes it."""
    from cnnlab.design.describe import who_trains
    from cnnlab.design.runner import driver_unknown, sweep_driver

    driver = sweep_driver(directory)
    words = who_trains(counts, driver, None if driver else driver_unknown(directory),
                       _continue_command(directory))
    if words:
        console.print(escape(words), highlight=False)


def _continue_command(directory: Path) -> str:
    """`design run --resume DIR` as the sweep's last run ran it: its executor, --workers,
    and the thread count its CPU trials used (without it, they train with another and
    the run is warned that its numbers will not match)."""
    from cnnlab.design.runner import resume_command
    from cnnlab.design.store import TrialStore

    with TrialStore(directory) as store:
        threads = None if store.spec().train.get("threads") else store.meta().get("threads")
        ran = store.meta().get("run_with") or {}
    return resume_command(directory, ran.get("executor") or "local", ran.get("address"),
                          threads, ran.get("workers"))
