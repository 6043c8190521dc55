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

# Its old name here, where tests/test_design_cli_errors.py calls it.
from .design_run import warn_of_no_band as _warn_of_no_band  # noqa: F401
from .messages import err, output_console, print_table
from .paths import DATA_ROOT_DEFAULT, dataset_name, folder_text

# A sweep's seed is stored in trials.sqlite, whose INTEGER is signed 64-bit (2**64 failed
# there with a traceback; numpy's generators refuse a negative one, as a traceback too);
# create_sweep refuses one whose last trial's seed + i overflows.
SQLITE_MAX = 2**63 - 1
MAX_WORKERS = 4096  # trials at once; 10**12 failed in multiprocessing's C-int semaphores

app = typer.Typer(help="Design-space sweeps (AnyNetX A-E, RegNet), EDFs, KS tests.",
                  no_args_is_help=True)
console = output_console()

SPACES_HELP = ("anynetx_a (free), _b (shared b), _c (shared g), _d (widths up), _e (depths up), "
               "or regnetx.")


def fail(message: str, code: int = 2) -> NoReturn:
    # Exit 2 for a refusal (messages.py has the rule for every command); 1 where a valid
    # sweep could not be done: its data or store missing or damaged, Ray absent or out of
    # reach.
    messages.fail(message, code=code)


def _fail_known(exc: Exception) -> NoReturn:
    from cnnlab.data.dataset import DataError
    from cnnlab.design.executors import SweepFailure
    from cnnlab.design.sweep_spec import StoreError

    missing_or_damaged = isinstance(exc, DataError) and not messages.invalid_request(exc)
    could_not = isinstance(exc, (SweepFailure, StoreError))  # a store damaged, locked, busy
    fail(str(exc), code=1 if missing_or_damaged or could_not else 2)


def _known_errors():
    from cnnlab.data.dataset import DataError
    from cnnlab.design.spaces import DesignSpaceError
    from cnnlab.design.store import SweepError
    from cnnlab.train import ConfigError

    return (DesignSpaceError, SweepError, ConfigError, DataError)


@app.command("run")
def run(
    space: str = typer.Option(None, help=SPACES_HELP + " Needed for a new sweep."),
    n: int = typer.Option(None, "--n", "-n", min=1, help="Trials in the sweep (default: 100). With "
                                            "--resume, a larger N extends the sweep."),
    epochs: int = typer.Option(None, help="Epochs per trial (default: 10, the paper's)."),
    macs: str = typer.Option(None, metavar="LOW-HIGH", help="Complexity band LOW-HIGH in "
                             "multiply-adds at the data's size, e.g. 5M-20M (default: "
                             "none, every complexity: a warning says what it drew)."),
    data: str = typer.Option(None, callback=dataset_name(),
                             help="fashion-mnist, folder:PATH or synthetic. "
                                  "(default: fashion-mnist)"),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Folder holding the dataset files (with --resume: "
                                       f"where they are now). (default: {DATA_ROOT_DEFAULT}; "
                                       "with --resume, the sweep's)"),
    train_subset: int = typer.Option(None, min=1,
                                     help="Train on the first N training images only "
                                          "(default: all of them)."),
    out: Path = typer.Option(None, metavar="DIR",
                             help="Sweep directory (holds trials.sqlite): new, empty, or this "
                                  "sweep's to extend it. Needed for a new sweep."),
    resume: Path = typer.Option(None, metavar="DIR", help="Finish the sweep in this directory."),
    seed: int = typer.Option(None, min=0, max=SQLITE_MAX,
                             help="Seeds the sampling; trial i trains with seed+i "
                                  "(default: 0)."),
    lr: float = typer.Option(None, help="Learning rate (default: 0.05, cosine)."),
    batch_size: int = typer.Option(None, help="Batch size (default: 128)."),
    device: str = typer.Option(None, help="auto, cpu, cuda ... Checked before anything is "
                                          "created. With --resume, the rest of the sweep "
                                          "trains there. (default: auto; with --resume, "
                                          "the sweep's)"),
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
                                help="torch CPU threads per trial (default: with --resume, "
                                     "the sweep's; else cores / workers, also for a Ray "
                                     "started here; 1 on a Ray cluster)."),
    address: str = typer.Option(None, help="Ray cluster address (default: $RAY_ADDRESS if "
                                           "set, else start Ray here)."),
) -> None:
    """Train N networks drawn from a design space; every trial is stored as it finishes.

    Killed at any moment, `cnnlab design run --resume DIR` finishes the sweep without
    training a finished trial again. Running the same command again does the same.
    Failed trials are kept as failed unless --retry-failed is given; --resume DIR
    --device cpu moves a sweep whose device failed it.
    """
    from cnnlab.design.executors import check_executor
    from cnnlab.design.folders import remove_untrained_sweep
    from cnnlab.design.runner import SweepInterrupted, sweep_lock

    from . import design_run as step

    # 1. What the options alone decide is refused before anything is made.
    step.check_run_options(space, out, resume, {
        "--space": space, "--epochs": epochs, "--macs": macs, "--lr": lr,
        "--batch-size": batch_size, "--train-subset": train_subset, "--set": set_ or None,
        "--zero-init/--no-zero-init": zero_init, "--data": data, "--seed": seed})
    directory = resume if resume is not None else out
    lock = contextlib.ExitStack()
    new_folder = step.folder_made_here(out, resume)  # removed again after a refusal
    spec = None  # the sweep this command asks for, once made
    try:
        check_executor(executor, address, workers)
        # One driver per sweep, from reopening it (which may move its device or put its
        # failed trials back) to its last trial.
        lock.enter_context(sweep_lock(directory))
        # 2. The sweep reopened, or created with every trial drawn.
        step.warn_if_n_is_below(n, directory)
        if resume is not None:
            spec = step.reopen_sweep(directory, n, device, data_root)
        else:
            spec = step.new_sweep_spec(
                space=space, seed=seed, macs=macs, data=data, data_root=data_root,
                train_subset=train_subset, epochs=epochs, lr=lr, batch_size=batch_size,
                device=device, set_=set_, zero_init=zero_init)
            step.create_new_sweep(directory, spec, n, console)
        # A new sweep's lock is taken once it exists (none before: see sweep_lock); a
        # second run started beside this one is refused here, before it says anything.
        lock.enter_context(sweep_lock(directory))
        # 3. Its pending trials trained, a line each.
        counts, total, decimals = step.say_sweep_so_far(directory, retry_failed, executor,
                                                        console)
        counts = step.train_pending(directory, counts, total, decimals, console,
                                    executor=executor, workers=workers, threads=threads,
                                    address=address)
    except SweepInterrupted as exc:
        err.print(f"[yellow]interrupted[/]: {escape(str(exc))}")
        raise typer.Exit(interrupted_status()) from None
    except _known_errors() as exc:
        lock.close()
        if new_folder is not None and spec is not None:  # nothing of it trained
            remove_untrained_sweep(*new_folder, spec)
        typed = {"epochs": epochs, "lr": lr, "batch_size": batch_size}  # None: not given
        _fail_known(messages.named_by_its_flag(
            exc, {field: value for field, value in typed.items() if value is not None}))
    finally:
        lock.close()
    # 4. What to do next: analyse it, or train its failed trials again.
    step.say_how_it_ended(directory, counts, console)


@app.command("analyze")
def analyze(
    directories: list[Path] = typer.Argument(..., metavar="SWEEP",
                                             help="Sweep folders to compare (one or more)."),
    out: Path = typer.Option(None, metavar="DIR",
                             help="Report folder: new, empty, or an earlier report's (default: "
                                  "SWEEP/analysis for one sweep, ./design-analysis for several)."),
    bins: int = typer.Option(10, min=1, help="Log-spaced MACs bins of the normalised EDF."),
    resamples: int = typer.Option(2000, min=20, help="Bootstrap resamples (the best of m) and "
                                  "permutations (the normalised test's p-value, which "
                                  "cannot go below 1/(1 + N): 20 or more for a p under "
                                  "0.05)."),
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
                             help="Complexity band LOW-HIGH, e.g. 5M-20M (default: none, "
                                  "every complexity)."),
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

    from .design_run import continue_command

    driver = sweep_driver(directory)
    words = who_trains(counts, driver, None if driver else driver_unknown(directory),
                       continue_command(directory))
    if words:
        console.print(escape(words), highlight=False)
