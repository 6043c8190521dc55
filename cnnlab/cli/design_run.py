"""`cnnlab design run`, step by step: the options checked, the sweep created (or reopened),
what it holds said, its pending trials trained with a line each, and how it ended.

The command itself (:func:`cnnlab.cli.design.run`) calls these in that order and owns
the sweep's lock and the cleanup after a refusal. Each step that prints is given the
command's console: tests swap that console for a terminal's to see the progress bar.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from cnnlab.formatting import format_count, seconds_text

from . import messages
from .messages import err


def check_run_options(space: str | None, out: Path | None, resume: Path | None,
                      creation_options: dict) -> None:
    """What the options alone decide, refused (exit 2) before anything is made: once the
    sweep is created, a refusal would leave behind a sweep that never trained (or a lock
    file in a folder). ``creation_options``: each option that shapes a new sweep, by its
    flag, None where not given (--resume takes none of them)."""
    if resume is not None:
        extra = [flag for flag, value in creation_options.items() if value is not None]
        if extra:
            messages.fail("--resume continues the sweep as it was created; drop "
                          f"{', '.join(extra)}", code=2)
        if out is not None and out != resume:
            messages.fail("give either --resume DIR or --out DIR, not both", code=2)
    elif space is None or out is None:
        messages.fail("a new sweep needs --space and --out (or --resume DIR)", code=2)


def folder_made_here(out: Path | None, resume: Path | None) -> tuple[Path, Path] | None:
    """The sweep folder this command creates, and the first folder on its way that is not
    there yet: removed again if nothing trained before a refusal (no node holds a trial,
    a cluster not joined), as if never made. None where the sweep exists already."""
    from cnnlab.atomic import first_missing_folder
    from cnnlab.design.store import DB_NAME

    if resume is not None or (Path(out) / DB_NAME).exists():
        return None
    return Path(out), first_missing_folder(out)


def planned_trials(directory: Path) -> int:
    """How many trials the sweep in ``directory`` plans; 0 when there is none."""
    from cnnlab.design.store import DB_NAME, TrialStore

    if not (directory / DB_NAME).is_file():
        return 0
    with TrialStore(directory) as store:
        return store.planned()


def warn_if_n_is_below(n: int | None, directory: Path) -> None:
    """--n below what the sweep already plans: all its trials train, which went unsaid.
    Not refused: the command that created a sweep, run again, finishes it."""
    planned = planned_trials(directory)
    if n is not None and n < planned:
        messages.warning(f"--n {n} is below the {planned} trials {directory} already "
                         f"plans: a sweep does not shrink, all {planned} train (stop it "
                         "with Ctrl-C; finished trials are kept)")


def reopen_sweep(directory: Path, n: int | None, device: str | None,
                 data_root: str | None):
    """The sweep in ``directory`` reopened as it was created (its SweepSpec returned),
    moved to ``device`` and ``data_root`` where given, extended to ``n`` trials."""
    from dataclasses import replace

    from cnnlab.design.runner import create_sweep
    from cnnlab.design.store import TrialStore
    from cnnlab.train.run_files import move_data

    with TrialStore(directory) as store:
        spec, planned = store.spec(), store.planned()
    if device is not None:  # where it trains, not what: the sweep stays the same
        spec = replace(spec, train={**spec.train, "device": device})
    if data_root is not None:  # where its data is now (a folder's is its spec)
        spec = move_data(spec, data_root)
    # Checks the device and draws trials not drawn yet, or more with --n.
    create_sweep(directory, spec, max(n or 0, planned, 1))
    return spec


def new_sweep_spec(*, space: str, seed: int | None, macs: str | None, data: str | None,
                   data_root: str | None, train_subset: int | None, epochs: int | None,
                   lr: float | None, batch_size: int | None, device: str | None,
                   set_: list[str] | None, zero_init: bool | None):
    """The SweepSpec a new sweep's options describe (ConfigError, DesignSpaceError for a
    bad --set or --macs); the paper's recipe fills in what is not given."""
    from cnnlab.design.spaces import parse_band
    from cnnlab.design.store import SweepSpec
    from cnnlab.train.config import parse_assignments

    train = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size),
                               ("device", device)) if v is not None}
    train.update(parse_assignments(set_))
    return SweepSpec(space=space, seed=seed or 0, macs=parse_band(macs),
                     data=data or "fashion-mnist", data_root=data_root,
                     train_subset=train_subset, train=train,
                     zero_init_last_bn=zero_init is not False)


def create_new_sweep(directory: Path, spec, n: int | None, console) -> None:
    """Draw the sweep's trials into ``directory`` (n, else the size an existing sweep there
    has, else 100), and warn of a sweep without a complexity band."""
    from cnnlab.design.runner import create_sweep

    with console.status("drawing trials ..."):
        # Run again without --n, an existing sweep keeps its size (not 100).
        create_sweep(directory, spec, n or planned_trials(directory) or 100)
    if spec.macs is None:
        warn_of_no_band(directory)


def warn_of_no_band(directory) -> None:
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


def say_sweep_so_far(directory: Path, retry_failed: bool, executor: str,
                     console) -> tuple[dict, int, int]:
    """Put failed trials back with --retry-failed, then say how many trials the sweep has
    and how many are left to train. Returns its status counts, its trial count and the
    decimals its errors are printed with."""
    from cnnlab.design.describe import error_decimals, few_steps_note
    from cnnlab.design.store import TrialStore

    with TrialStore(directory) as store:
        if retry_failed:
            store.retry_failed()
        counts, total = store.counts(), store.count()
        # As many as the test images hold, as the report gives them (error_decimals)
        decimals = error_decimals(store.spec().to_dict())
        few_steps = few_steps_note(store.spec().to_dict())
    # Escaped: a folder named "sw [b]" read "sw " (rich took "[b]" for bold)
    console.print(f"sweep {escape(str(directory))}: {total} trials, {counts['done']} done, "
                  f"{counts['failed']} failed, {total - counts['done'] - counts['failed']} "
                  f"to train ({executor})")
    if few_steps and total > counts["done"] + counts["failed"]:  # before it trains them
        err.print(f"note: {escape(few_steps)}")
    return counts, total, decimals


def train_pending(directory: Path, counts: dict, total: int, decimals: int, console, *,
                  executor: str, workers: int | None, threads: int | None,
                  address: str | None) -> dict:
    """Train the sweep's pending trials, a line for each as it is stored (under a bar of
    the trials done, in a terminal); returns the status counts at the end."""
    from cnnlab.design.runner import run_sweep

    finished = counts["done"] + counts["failed"]
    bar = _sweep_bar(console)
    task = bar.add_task("trials", total=total, completed=finished)

    def say_trial(row: dict) -> None:
        nonlocal finished
        finished += 1
        bar.advance(task)
        head = f"[{finished}/{total}] trial {row['id']}"
        if row["status"] == "done":
            console.print(f"{head}: error {row['error_pct']:.{decimals}f}% "
                          f"({format_count(row['macs'])} MACs, "
                          f"{seconds_text(row['train_time_s'])})", highlight=False)
        else:
            console.print(f"{head}: [red]failed[/] {escape(row['message'] or '')}")

    with bar:
        return run_sweep(directory, executor=executor, workers=workers, threads=threads,
                         address=address, on_result=say_trial)


def _sweep_bar(console):
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


def say_how_it_ended(directory: Path, counts: dict, console) -> None:
    """The sweep's counts and what to do next: analyse it, look again at trials all at
    chance, train failed trials again. Every trial failed: exit 1."""
    from cnnlab.design.describe import at_chance_note
    from cnnlab.design.store import TrialStore
    from cnnlab.design.trial import all_diverged
    from cnnlab.shell_words import shell_quote

    # Nothing done: "Analyse with" led to an analysis that has nothing to show.
    # The folder quoted for this platform's shell (a space in it, a Windows path)
    analyse = f"cnnlab design analyze {shell_quote(str(directory))}"
    console.print(f"{counts['done']} done, {counts['failed']} failed." + (
        f" Analyse with: {escape(analyse)}" if counts["done"] else ""))
    with TrialStore(directory) as store:  # all at chance: a sweep too short to learn
        at_chance = at_chance_note([r["error_pct"] for r in store.trials("done")],
                                   store.spec().num_classes)
        diverged = all_diverged(store.trials("failed"))
    if at_chance:
        err.print(f"note: {escape(at_chance)}")
    if counts["failed"] and diverged:
        # --retry-failed trains them with the same recipe: each trial's own message says
        # they would diverge again, and pointing at it sent users round that loop.
        console.print("failed trials are kept as they are: each diverged under this "
                      "sweep's recipe, which --retry-failed would train again unchanged; a "
                      "new sweep (another --out) with a lower --lr, or with --set "
                      "clip_grad_norm=1.0, trains these networks", highlight=False)
    elif counts["failed"]:
        console.print(f"failed trials are kept as they are; train them again with: "
                      f"{escape(continue_command(directory))} --retry-failed",
                      highlight=False)
    if counts["failed"] and not counts["done"]:
        # Nothing to analyse: a script must see it (it exited 0, as for a good sweep).
        messages.fail(f"every trial of {directory} failed (each one's error is printed "
                      "above, and kept in its trials.sqlite): nothing to analyse", code=1)


def continue_command(directory: Path) -> str:
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
