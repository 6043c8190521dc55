"""`cnnlab speedrun`: the fastest route to a target Fashion-MNIST accuracy.

:func:`speedrun` reads top-down: the options become a study (checked and planned in
:mod:`~cnnlab.cli.speedrun_plan`, all before the data loads), the runs an interrupted
study at --out holds are kept, each variant runs (:func:`_run_study`,
:func:`_run_variant`; :class:`_StudyFile` rewrites --out after every run), and the
finished study is written; its tables are drawn by :mod:`~cnnlab.cli.speedrun_tables`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import counted, percent_text
from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM

from .hints import hint_at_a_busy_cpu
from .messages import fail, output_console
from .paths import DATA_ROOT_DEFAULT, folder_text
from .speedrun_plan import WARMUP_SEED, SpeedrunStudy
from .speedrun_tables import (
    mean_accuracy_words,
    print_ablation,
    print_candidates,
    run_row,
    time_to_target_text,
    time_to_target_words,
)

console = output_console()


def _recipe_default(field: str) -> str:
    """The recipe's ``field`` on each device, as its option's help says it, read from the
    recipes themselves: help that said "Override the recipe's epochs" told no one that
    they are 14 on a CPU and 4 on a GPU."""
    from cnnlab.bench.speedrun import RECIPES  # no torch: --help stays quick

    cpu, gpu = RECIPES["cpu"][field], RECIPES["cuda"][field]
    if cpu == gpu:
        return f"(default: the recipe's, {cpu})"
    # (the recipes key on CUDA: an Apple GPU, mps, runs the CPU's)
    return f"(default: the recipe's, {cpu} on a CPU or Apple GPU (mps), {gpu} on a CUDA GPU)"


def speedrun(
    target: float = typer.Option(None, help="Test accuracy to reach (default: 0.94 on a "
                                            "CUDA GPU, else 0.92)."),
    runs: int = typer.Option(1, help="Seeded runs (seeds S, S+1, ... with --set seed=S, "
                                     "default 0); mean and std are reported."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, ..."),
    time_budget: float = typer.Option(None, "--time-budget", "--max-time",
                                      help="Stop each run's training after this many "
                                           "seconds. (default: no limit)"),
    model: str = typer.Option(None, help="The network. " + _recipe_default("model")),
    epochs: int = typer.Option(None, help="Epochs per run. " + _recipe_default("epochs")),
    batch_size: int = typer.Option(None, help="Batch size. " + _recipe_default("batch_size")),
    lr: float = typer.Option(None, help="Peak learning rate. " + _recipe_default("lr")),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile (GPU)."),
    threads: int = typer.Option(None, help="torch CPU threads (default: one per core; 1 is "
                                           "steadiest on a busy CPU)."),
    set_: list[str] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                   help="Any TrainConfig field, KEY=VALUE (repeatable), "
                                        "e.g. --set ema_decay=0."),
    ablate: bool = typer.Option(False, "--ablate", help="Also run the recipe with each "
                                "ingredient taken out, and show what each is worth."),
    candidate: list[str] = typer.Option(None, "--candidate", metavar="RECIPE",
                                        help="A recipe to try, as 'KEY=VALUE KEY=VALUE' on "
                                             "top of the recipe (repeatable; '' is the recipe "
                                             "itself). Each runs --runs times; the best is "
                                             "reported."),
    confirm: int = typer.Option(0, help="With --candidate: then run the best candidate this "
                                        "many more times (fresh seeds) for the final numbers."),
    warmup: bool = typer.Option(None, "--warmup/--no-warmup", help="One untimed 1-epoch run "
                                "per recipe first, so CUDA start-up, cuDNN autotuning and "
                                "torch.compile's compilation (reused by the timed runs) are "
                                "not charged to run 1 (default: on for CUDA GPUs)."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help=f"Folder holding Fashion-MNIST (default: "
                                       f"{DATA_ROOT_DEFAULT})."),
    out: Path = typer.Option(None, help="Write every run and the summary as JSON here (with "
                                        "--ablate, also a PNG chart beside it), rewritten "
                                        "after each run. Run the same command again after "
                                        "Ctrl-C and it resumes: the finished runs are kept "
                                        "and only the missing seeds run (other settings "
                                        "are refused). A finished study there is replaced."),
) -> None:
    """Time to a target test accuracy on Fashion-MNIST, over seeded runs.

    The clock covers everything after the data is loaded: model build, data to the
    device, training and every evaluation.
    """
    from cnnlab.data import load_dataset
    from cnnlab.data.dataset import DataError
    from cnnlab.models import UnknownModelError
    from cnnlab.train import ConfigError, TrainingInterrupted

    from .speedrun_plan import plan_study

    # 1. Options to a study, and the runs an interrupted one at --out already holds: all
    # refused in a moment, before the data loads (and before any run takes minutes).
    try:
        study = plan_study(
            target=target, runs=runs, device=device, time_budget=time_budget, model=model,
            epochs=epochs, batch_size=batch_size, lr=lr, compile=compile, threads=threads,
            set_=set_, ablate=ablate, candidate=candidate, confirm=confirm, warmup=warmup,
            out=out)
        kept = _kept_at_out(study)
        data = load_dataset("fashion-mnist", root=data_root)
        hint_at_a_busy_cpu(study.recipe.get("threads"), study.device)  # a time is what it measures
    except (ConfigError, UnknownModelError) as exc:
        fail(str(exc), code=2)  # asked for something invalid
    except DataError as exc:
        fail(str(exc))  # the data is missing or damaged, as `cnnlab train` says it
    # 2. The runs, each written to --out as it finishes.
    study_file = _StudyFile(study, kept)
    try:
        _run_study(study, data, kept, study_file)
    except (KeyboardInterrupt, TrainingInterrupted):
        _say_interrupted(study_file, study.out)
        raise typer.Exit(interrupted_status()) from None
    # 3. The finished study: its JSON marked complete, and an ablation's chart.
    _write_finished(study, study_file)


def _kept_at_out(study: SpeedrunStudy):
    """The runs an interrupted study at --out holds (a KeptStudy, empty for none), said;
    a finished study there is said to be replaced. Raises ConfigError where the study at
    --out is not this one (other settings, another machine)."""
    from cnnlab.bench.speedrun_study import (
        KeptStudy,
        comparable,
        finished_runs,
        keep_unfinished,
        read_study,
    )

    out = study.out
    stored = read_study(out) if out is not None else None
    if stored is None:
        return KeptStudy()
    if stored["complete"]:
        console.print(f"{escape(str(out))} holds a finished speedrun "
                      f"({finished_runs(stored)} runs): this study replaces it once "
                      "its first run finishes (give another --out to keep it)")
        return KeptStudy()
    # interrupted: resume it, if it is this study
    kept = keep_unfinished(stored, out, study.settings,
                           {n: comparable(c.to_dict()) for n, c in study.plan.items()},
                           study.environment)
    total = len(study.plan) * study.runs + (study.confirm if study.candidates else 0)
    console.print(f"resuming: {kept.count} of {total} runs already in "
                  f"{escape(str(out))} (kept, not run again)")
    return kept


class _StudyFile:
    """The study's results as its JSON at --out holds them, rewritten after every run, so
    that a study cut off keeps its finished runs (and the same command resumes it)."""

    def __init__(self, study: SpeedrunStudy, kept) -> None:
        self.study, self.kept = study, kept
        self.records: dict[str, dict] = {}  # each variant's (or candidate's) runs
        self.outcome: dict = {}  # the ablation's rows, or the best candidate and its confirm
        # Whether this process has finished a run: only then is it one of the sessions.
        self.ran_here = False
        for name, done in kept.runs.items():  # in the file again whenever it is rewritten
            self.records[name] = self.kept_entry(done, name)

    def entry(self, results: list, cfg) -> dict:
        from cnnlab.bench.speedrun import summarize

        return {"summary": summarize(results, self.study.target),
                "runs": [asdict(r) for r in results], "config": cfg.to_dict()}

    def kept_entry(self, done: list, name: str) -> dict:
        """A recipe's runs kept from the interrupted study, as record() writes them."""
        return self.entry(done, self.study.config(name, seed=done[-1].seed))

    def record(self, key: str, name: str, results: list, cfg) -> None:
        """``results``, the runs of ``name`` so far (``key``: "variant", or "confirm" for
        the best candidate's confirming runs), into the file."""
        self.ran_here = True
        if key == "confirm":
            self.outcome["confirm"] = {"candidate": name, **self.entry(results, cfg)}
        else:
            self.records[name] = self.entry(results, cfg)
        self.save(complete=False)

    def save(self, complete: bool) -> None:
        """The JSON so far (nothing without --out)."""
        from cnnlab.atomic import atomic_write_text
        from cnnlab.bench.results import json_safe
        from cnnlab.bench.speedrun import FULL_RECIPE

        study, out = self.study, self.study.out
        if out is None:
            return
        if study.candidates:
            body = {"candidates": self.records, **self.outcome}
        elif study.ablate:
            body = {"ablation": self.outcome.get("ablation"), "variants": self.records}
        else:
            body = self.records.get(FULL_RECIPE, {})
        # NaN (a mean over no runs) is written as null: bare NaN is not JSON.
        # environment: the last process's to run runs; sessions: every such process's.
        sessions = ([*self.kept.sessions, study.environment] if self.ran_here
                    else self.kept.sessions)
        atomic_write_text(out, json.dumps(json_safe({
            **body, "complete": complete, "study": study.settings,
            "environment": sessions[-1], "sessions": sessions}), indent=1, allow_nan=False))


def _run_study(study: SpeedrunStudy, data, kept, study_file: _StudyFile) -> None:
    """Every variant's runs (those an interrupted study kept are not run again), then
    the ablation's table, or the best candidate and its confirming runs."""
    from cnnlab.bench.speedrun import ablation_rows, summarize

    session = len(kept.sessions)  # a run's "session" indexes the sessions
    labelled, warmed, summaries = study.ablate or study.candidates, set(), {}
    for name, change in study.variants.items():
        if name not in study.plan:
            console.print(f"{name}: skipped, the {study.device_kind} recipe already does "
                          "this")
            continue
        done = kept.runs.get(name, [])
        warmed.update([name] if study.warm and len(done) < study.runs else [])
        results, _ = _run_variant(
            name if labelled else None, {**study.recipe, **change}, study.runs,
            study.device_kind, data, study.target, study.warm, first_seed=study.first_seed,
            on_run=lambda rs, cfg, name=name: study_file.record("variant", name, rs, cfg),
            kept=done, session=session)
        summaries[name] = summarize(results, study.target)
    if study.ablate:
        study_file.outcome["ablation"] = ablation_rows(summaries)
        print_ablation(study_file.outcome["ablation"], study.target, study.runs)
    if study.candidates:
        _pick_and_confirm(study, data, kept, study_file, summaries, warmed, session)


def _pick_and_confirm(study: SpeedrunStudy, data, kept, study_file: _StudyFile,
                      summaries: dict, warmed: set, session: int) -> None:
    """The candidates compared, the best named, and with --confirm N, N more runs of it."""
    from cnnlab.bench.speedrun import pick_best
    from cnnlab.bench.speedrun_study import CONFIRM_SEEDS

    print_candidates(summaries, study.target, study.runs)
    best, why = pick_best(summaries)
    study_file.outcome.update(best=best, why=why, confirm=None)
    console.print(f"best candidate: [bold]{escape(best)}[/] ({why})")
    if study.confirm <= 0:
        return
    done = kept.confirm if kept.confirm_candidate == best else []
    if done:
        study_file.outcome["confirm"] = {"candidate": best,
                                         **study_file.kept_entry(done, best)}
    # Fresh seeds, so the pick is not judged on the runs that picked it; the warm-up only
    # where this process has not run the recipe (a resume).
    _run_variant(f"confirm {best}", {**study.recipe, **study.variants[best]}, study.confirm,
                 study.device_kind, data, study.target, study.warm and best not in warmed,
                 first_seed=study.first_seed + CONFIRM_SEEDS,
                 on_run=lambda rs, cfg: study_file.record("confirm", best, rs, cfg),
                 kept=done, session=session)


def _say_interrupted(study_file: _StudyFile, out: Path | None) -> None:
    """Ctrl-C or SIGTERM: what of the study is kept, and where."""
    if study_file.records:  # a finished run is in the file (it was rewritten after each)
        if study_file.ran_here:
            study_file.save(complete=False)
        where = (f": the finished runs are in {out}; the same command resumes the "
                 "study" if out is not None else "")
    else:  # nothing to keep: a file already at --out stays as it was
        where = ", before any run finished" + (
            f"; {out} was not written" if out is not None else "")
    console.print(f"[yellow]interrupted[/]{escape(where)}")


def _write_finished(study: SpeedrunStudy, study_file: _StudyFile) -> None:
    """The study's JSON, marked complete, and with --ablate its chart beside it."""
    from cnnlab.bench.speedrun import plot_ablation, recipe_changes

    study_file.save(complete=True)
    out = study.out
    if out is None:
        return
    console.print(f"written to {escape(str(out))}")
    if study.ablate:
        full = study.full
        setting = {"model": full.model, "device": study.device_kind, "epochs": full.epochs,
                   "changes": recipe_changes(study.device_kind, full)}
        plot_ablation(study_file.outcome["ablation"], out.with_suffix(".png"), setting)
        console.print(f"chart: {escape(str(out.with_suffix('.png')))}")


def _run_variant(name: str | None, overrides: dict, runs: int, device_kind: str, data,
                 target: float, warmup: bool = False, first_seed: int = 0, on_run=None,
                 kept=(), session: int = 0):
    """``runs`` seeded runs of the recipe with ``overrides``; prints each and a table.
    ``on_run(results so far, config)`` is called after every run. ``kept``: the first
    runs, from an interrupted study (not run again); the new ones are of ``session``."""
    from cnnlab.bench.speedrun import StoppedAfterRun, run_once, speedrun_config, summarize
    from cnnlab.notices import SetupWarning
    from cnnlab.train import TrainingInterrupted

    label = f"{name}: " if name else ""
    results = list(kept)
    if warmup and len(results) < runs:
        # Same shapes as the timed runs, so cuDNN's autotuning happens here, untimed.
        # One epoch, no warm-up: it only compiles and tunes the kernels for the shapes.
        cfg = speedrun_config(device_kind, seed=first_seed + WARMUP_SEED,
                              **{**overrides, "epochs": 1, "warmup_epochs": 0.0})
        with console.status(f"{label}warm-up (1 epoch, untimed) ..."), \
                warnings.catch_warnings():
            # Its one-epoch, no-warm-up config is not the one raced: what it would be told
            # is not so of the timed runs, which say what applies to them.
            warnings.simplefilter("ignore", SetupWarning)
            run_once(cfg, data, target)
    recipe = speedrun_config(device_kind, seed=first_seed, **overrides)  # what races
    table = Table(title=f"{label}speedrun to {100 * target:.1f}% on {device_kind}: "
                        f"{recipe.model}, {counted(recipe.epochs, 'epoch')}")
    for col in ("run", "seed", "time to target", "final acc", "best acc", "epochs", "total",
                *(["session"] if kept else [])):  # which process ran it: a resumed study
        table.add_column(col, justify="right")
    cfg = recipe
    for i, r in enumerate(kept):
        table.add_row(*run_row(i, r, with_session=True))
    for i in range(len(results), runs):
        cfg = speedrun_config(device_kind, seed=first_seed + i, **overrides)
        running = f"{label}run {i + 1}/{runs}: {cfg.model}, {counted(cfg.epochs, 'epoch')}"
        stop = None
        with console.status(f"{running} ..."):
            try:
                r = run_once(cfg, data, target)
            except StoppedAfterRun as exc:  # a finished run: kept, then the study stops
                r, stop = exc.result, exc
        r.session = session
        results.append(r)
        if on_run is not None:
            on_run(results, cfg)
        ttt = time_to_target_text(r)
        # The time is the target's, not the run's (it read as the run's).
        reached = "diverged" if r.diverged else f"{100 * target:.1f}% " + (
            "not reached" if r.time_to_target_s is None else f"at {ttt}")
        console.print(f"{label}run {i + 1}: {reached}, final {percent_text(r.final_acc)} after "
                      f"{r.total_time_s:.1f} s")
        table.add_row(*run_row(i, r, with_session=bool(kept)))
        if stop is not None:
            raise TrainingInterrupted(str(stop), signal_name=stop.signal_name)
    console.print(table)
    s = summarize(results, target)
    time_to_target = time_to_target_words(s)
    console.print(
        f"{label}reached {s['reached']}/{s['runs']}; time to {100 * target:.1f}%: "
        f"{time_to_target}; "
        f"final accuracy {mean_accuracy_words(s)}"
    )
    return results, cfg


def register(app: typer.Typer) -> None:
    app.command("speedrun")(speedrun)
