"""`cnnlab speedrun`: the fastest route to a target Fashion-MNIST accuracy."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cnnlab.formatting import counted
from cnnlab.interrupts import interrupted_status  # 130 Ctrl-C, 143 SIGTERM

from .hints import hint_at_a_busy_cpu
from .messages import fail, output_console
from .paths import folder_text
from .speedrun_tables import (
    accuracy_words,
    print_ablation,
    print_candidates,
    run_row,
    time_to_target_text,
    time_to_target_words,
)

console = output_console()


def speedrun(
    target: float = typer.Option(None, help="Test accuracy to reach (default: 0.94 on a "
                                            "GPU, 0.92 on a CPU)."),
    runs: int = typer.Option(1, help="Seeded runs (seeds S, S+1, ... with --set seed=S, "
                                     "default 0); mean and std are reported."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, ..."),
    time_budget: float = typer.Option(None, "--time-budget", "--max-time",
                                      help="Stop each run's training after S seconds."),
    model: str = typer.Option(None, help="Override the recipe's network."),
    epochs: int = typer.Option(None, help="Override the recipe's epochs."),
    batch_size: int = typer.Option(None, help="Override the recipe's batch size."),
    lr: float = typer.Option(None, help="Override the recipe's peak learning rate."),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile (GPU)."),
    threads: int = typer.Option(None, help="torch CPU threads (default: one per core; 1 is "
                                           "steadiest on a busy CPU)."),
    set_: list[str] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                   help="Any TrainConfig field, KEY=VALUE (repeatable), "
                                        "e.g. --set ema_decay=0"),
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
                                "not charged to run 1 (default: on for GPUs)."),
    data_root: str = typer.Option(None, callback=folder_text,
                                  help="Folder holding Fashion-MNIST."),
    out: Path = typer.Option(None, help="Write every run and the summary as JSON here (with "
                                        "--ablate, also a PNG chart beside it), rewritten "
                                        "after each run. Run the same command again after "
                                        "Ctrl-C and it resumes: the finished runs are kept "
                                        "and only the missing seeds run (other settings "
                                        "are refused). A finished study there is replaced."),
) -> None:
    """Time to a target test accuracy on Fashion-MNIST, over N seeded runs.

    The clock covers everything after the data is loaded: model build, data to the
    device, training and every evaluation.
    """
    from cnnlab.atomic import atomic_write_text
    from cnnlab.bench.results import json_safe
    from cnnlab.bench.speedrun import (
        ABLATIONS,
        FLAGS,
        FULL_RECIPE,
        ablation_rows,
        parse_candidate,
        pick_best,
        plot_ablation,
        recipe_changes,
        speedrun_config,
        summarize,
    )
    from cnnlab.bench.speedrun_study import (
        CONFIRM_SEEDS,
        KeptStudy,
        comparable,
        finished_runs,
        keep_unfinished,
        read_study,
        study_settings,
    )
    from cnnlab.data import load_dataset
    from cnnlab.data.dataset import DataError
    from cnnlab.models import UnknownModelError, model_info
    from cnnlab.train import ConfigError, TrainingInterrupted
    from cnnlab.train.config import check_target_accuracy, parse_assignments
    from cnnlab.train.device import select_device
    from cnnlab.train.machine import environment_info

    from .paths import check_output_file

    try:
        dev = select_device(device)
        if ablate and candidate:
            raise ConfigError("--ablate and --candidate are two different studies: pick one")
        if runs < 1 or confirm < 0:
            raise ConfigError("--runs takes a number of runs >= 1, --confirm one >= 0")
        if confirm and not candidate:
            raise ConfigError("--confirm N re-runs the best of the --candidate recipes: "
                              "give candidates, or use --runs N for more runs of the recipe")
        check_target_accuracy(target, "--target")
        if out is not None:
            check_output_file(out, "--out")
            if ablate and out.suffix.lower() == ".png":  # the chart's own name
                raise ConfigError(f"--out {out} is the JSON of the runs; the --ablate chart "
                                  f"goes beside it as {out.stem}.png: give {out.stem}.json")
            if out.suffix.lower() != ".json":  # a .csv name holding JSON would mislead
                raise ConfigError(f"--out {out}: the runs are written as JSON; give "
                                  f"{out.with_suffix('.json')}")
        recipe = dict(model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                      max_time=time_budget, compile=compile or None, device=str(dev),
                      threads=threads)
        assigned = parse_assignments(set_)
        # The speedrun is Fashion-MNIST's; where its files lie and which device runs it
        # have options of their own, so that the JSON records what really ran.
        for fixed, instead in (("data", "the speedrun is on Fashion-MNIST"),
                               ("data_root", "use --data-root"), ("device", "use --device")):
            if fixed in assigned:
                raise ConfigError(f"--set {fixed}=... is not for the speedrun: {instead}")
        for key, value in assigned.items():  # one wins silently otherwise (--set did)
            if recipe.get(key) is not None and recipe[key] != value:
                flag = FLAGS.get(key, f"--{key.replace('_', '-')}")
                raise ConfigError(f"{key} given twice: {flag} {recipe[key]} and --set "
                                  f"{key}={value}; keep one")
        recipe.update(assigned)
        # `--set seed=S` is the first run's seed; each run after it takes the next one.
        first_seed = recipe.pop("seed", 0)
        if not isinstance(first_seed, int) or isinstance(first_seed, bool):
            raise ConfigError(f"seed must be a whole number (the first run's seed), "
                              f"got {first_seed!r}")
        target = target if target is not None else (0.94 if dev.type == "cuda" else 0.92)
        warm = warmup if warmup is not None else dev.type == "cuda"
        _check_flag_values(dev.type, recipe, assigned)
        full = speedrun_config(dev.type, seed=0, **recipe)  # a bad --set fails here, early
        model_info(full.model)  # ... and an unknown --model, with the closest names
        # Every seed the study takes, not only run 1's: a bad one failed mid-study, after
        # the data had loaded, with a traceback (the config is checked with seed 0).
        # The warm-up run before the confirming runs takes their first seed's warm-up seed.
        last_seed = first_seed + max(
            runs - 1, WARMUP_SEED if warm else 0,
            CONFIRM_SEEDS + max(confirm - 1, WARMUP_SEED if warm else 0) if confirm else 0)
        for seed in (first_seed, last_seed):
            try:
                speedrun_config(dev.type, seed=seed, **recipe)
            except ConfigError as exc:
                raise ConfigError(f"--set seed={first_seed}: this study's runs take seeds "
                                  f"{first_seed} to {last_seed} ({exc})") from None
        if candidate:
            names = [c.strip() or "the recipe" for c in candidate]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:  # one would silently replace the other
                raise ConfigError(f"--candidate {twice[0]!r} is given twice; give each "
                                  "once (--runs sets how often each runs)")
            variants = {c.strip() or "the recipe": parse_candidate(c) for c in candidate}
            for name, change in variants.items():  # ... and so does a bad candidate
                if "seed" in change:
                    raise ConfigError(f"candidate {name!r} sets seed: every candidate runs "
                                      "the same seeds, chosen with --set seed=S")
                try:
                    speedrun_config(dev.type, seed=0, **{**recipe, **change})
                except ConfigError as exc:  # which of the candidates it is
                    raise ConfigError(f"--candidate {name!r}: {exc}") from None
        else:
            variants = ABLATIONS if ablate else {FULL_RECIPE: {}}
        # What runs: an ablation skips a variant the device's recipe already is.
        plan = {name: speedrun_config(dev.type, seed=0, **{**recipe, **change})
                for name, change in variants.items()}
        plan = {name: cfg for name, cfg in plan.items()
                if not (ablate and variants[name] and cfg == full)}
        environment = environment_info()  # this process's: a resume's must match
        settings = study_settings("candidates" if candidate else "ablation" if ablate
                                  else "runs", target, runs, first_seed, warm, confirm,
                                  list(plan))
        kept, stored = KeptStudy(), read_study(out) if out is not None else None
        if stored is not None and stored["complete"]:
            console.print(f"{escape(str(out))} holds a finished speedrun "
                          f"({finished_runs(stored)} runs): this study replaces it once "
                          "its first run finishes (give another --out to keep it)")
        elif stored is not None:  # interrupted: resume it, if it is this study
            kept = keep_unfinished(stored, out, settings,
                                   {n: comparable(c.to_dict()) for n, c in plan.items()},
                                   environment)
            total = len(plan) * runs + (confirm if candidate else 0)
            console.print(f"resuming: {kept.count} of {total} runs already in "
                          f"{escape(str(out))} (kept, not run again)")
        data = load_dataset("fashion-mnist", root=data_root)
        hint_at_a_busy_cpu(recipe.get("threads"), str(dev))  # a time is what it measures
    except (ConfigError, UnknownModelError) as exc:
        fail(str(exc), code=2)  # asked for something invalid
    except DataError as exc:
        fail(str(exc))  # the data is missing or damaged, as `cnnlab train` says it
    summaries, records, outcome = {}, {}, {}
    session = len(kept.sessions)  # a run's "session" indexes the sessions
    ran_here = False  # whether this process has finished a run: only then is it a session

    def save(complete: bool) -> None:
        """The JSON so far: rewritten after every run, so a cut-off study keeps its runs."""
        if out is None:
            return
        if candidate:
            body = {"candidates": records, **outcome}
        elif ablate:
            body = {"ablation": outcome.get("ablation"), "variants": records}
        else:
            body = records.get(FULL_RECIPE, {})
        # NaN (a mean over no runs) is written as null: bare NaN is not JSON.
        # environment: the last process's to run runs; sessions: every such process's.
        sessions = [*kept.sessions, environment] if ran_here else kept.sessions
        atomic_write_text(out, json.dumps(json_safe({
            **body, "complete": complete, "study": settings, "environment": sessions[-1],
            "sessions": sessions}), indent=1, allow_nan=False))

    def entry(results: list, cfg) -> dict:
        return {"summary": summarize(results, target), "runs": [asdict(r) for r in results],
                "config": cfg.to_dict()}

    def record(key: str, name: str, results: list, cfg) -> None:
        nonlocal ran_here
        ran_here = True
        if key == "confirm":
            outcome["confirm"] = {"candidate": name, **entry(results, cfg)}
        else:
            records[name] = entry(results, cfg)
        save(complete=False)

    def kept_entry(done: list, name: str) -> dict:
        """A recipe's runs kept from the interrupted study, as record() writes them."""
        return entry(done, speedrun_config(dev.type, seed=done[-1].seed,
                                           **{**recipe, **variants[name]}))

    for name, done in kept.runs.items():  # in the file again whenever it is rewritten
        records[name] = kept_entry(done, name)

    labelled, warmed = ablate or bool(candidate), set()
    try:
        for name, change in variants.items():
            if name not in plan:
                console.print(f"{name}: skipped, the {dev.type} recipe already does this")
                continue
            done = kept.runs.get(name, [])
            warmed.update([name] if warm and len(done) < runs else [])
            results, _ = _run_variant(
                name if labelled else None, {**recipe, **change}, runs, dev.type, data,
                target, warm, first_seed=first_seed,
                on_run=lambda rs, cfg, name=name: record("variant", name, rs, cfg),
                kept=done, session=session)
            summaries[name] = summarize(results, target)
        if ablate:
            outcome["ablation"] = ablation_rows(summaries)
            print_ablation(outcome["ablation"], target, runs)
        if candidate:
            print_candidates(summaries, target, runs)
            best, why = pick_best(summaries)
            outcome.update(best=best, why=why, confirm=None)
            console.print(f"best candidate: [bold]{escape(best)}[/] ({why})")
            if confirm > 0:
                done = kept.confirm if kept.confirm_candidate == best else []
                if done:
                    outcome["confirm"] = {"candidate": best, **kept_entry(done, best)}
                # Fresh seeds, so the pick is not judged on the runs that picked it; the
                # warm-up only where this process has not run the recipe (a resume).
                _run_variant(f"confirm {best}", {**recipe, **variants[best]}, confirm,
                             dev.type, data, target, warm and best not in warmed,
                             first_seed=first_seed + CONFIRM_SEEDS,
                             on_run=lambda rs, cfg: record("confirm", best, rs, cfg),
                             kept=done, session=session)
    except (KeyboardInterrupt, TrainingInterrupted):
        if records:  # a finished run is in the file (it was rewritten after each)
            if ran_here:
                save(complete=False)
            where = (f": the finished runs are in {out}; the same command resumes the "
                     "study" if out is not None else "")
        else:  # nothing to keep: a file already at --out stays as it was
            where = ", before any run finished" + (
                f"; {out} was not written" if out is not None else "")
        console.print(f"[yellow]interrupted[/]{escape(where)}")
        raise typer.Exit(interrupted_status()) from None
    save(complete=True)
    if out is not None:
        console.print(f"written to {out}")
        if ablate:
            setting = {"model": full.model, "device": dev.type, "epochs": full.epochs,
                       "changes": recipe_changes(dev.type, full)}
            plot_ablation(outcome["ablation"], out.with_suffix(".png"), setting)
            console.print(f"chart: {out.with_suffix('.png')}")


WARMUP_SEED = 99_999  # the warm-up run's seed, after the first run's: timed runs never take it

def _check_flag_values(device_kind: str, recipe: dict, assigned: dict) -> None:
    """A bad value given by a flag is named by the flag, as typed (``--time-budget -1``),
    not by the field it sets (``max_time``, "or None"). Each is checked alone by the
    config's own rules (a --set value is named by its field: the user typed that)."""
    from cnnlab.bench.speedrun import FLAGS, speedrun_config
    from cnnlab.train import ConfigError

    from .messages import by_flag

    for key, flag in FLAGS.items():
        value = recipe.get(key)
        if value is None or key in assigned or key in ("model", "compile"):
            continue  # a model is named as it is; compile is on or off
        try:
            speedrun_config(device_kind, seed=0, **{key: value})
        except ConfigError as exc:
            words = by_flag(exc, flag) if getattr(exc, "field", None) == key else None
            if words is None:  # another rule's words: as they are
                raise
            raise ConfigError(words) from None


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
        console.print(f"{label}run {i + 1}: {reached}, final {100 * r.final_acc:.2f}% after "
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
        f"final accuracy {accuracy_words(s)}"
    )
    return results, cfg


def register(app: typer.Typer) -> None:
    app.command("speedrun")(speedrun)
