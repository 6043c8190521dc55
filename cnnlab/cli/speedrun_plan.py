"""`cnnlab speedrun`'s options, checked and worked out into the study they ask for.

Everything here runs before the data loads, so a mistake is refused in a moment with
exit 2 (a bad seed used to fail mid-study, after the data had loaded, with a
traceback). :func:`plan_study` reads top-down as the checks happen; the first that
fails is the one the user is told about, so their order is part of the behaviour.
Heavy modules (torch, through the training config) are imported inside the functions:
``cnnlab speedrun --help`` must not load them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

WARMUP_SEED = 99_999  # the warm-up run's seed, after the first run's: timed runs never take it

# Where the speedrun's data lies and which device runs it have options of their own, so
# that the JSON records what really ran: --set for them is refused, naming the option.
NOT_BY_SET = (("data", "the speedrun is on Fashion-MNIST"), ("data_root", "use --data-root"),
              ("device", "use --device"))


@dataclass
class SpeedrunStudy:
    """What one `cnnlab speedrun` runs, as its options decide it."""

    device_kind: str  # "cpu", "cuda", ...: which recipe the study starts from
    device: str  # the device as selected ("cuda:0"): the busy-CPU hint names it
    recipe: dict[str, Any]  # the flags' and --set's changes to that recipe
    variants: dict[str, dict]  # every recipe of the study, as changes on top of ``recipe``
    plan: dict[str, Any]  # the variants that run, each as a TrainConfig (seed 0)
    full: Any  # the recipe itself (TrainConfig, seed 0): what an ablation takes from
    target: float  # test accuracy to reach, its default filled in
    runs: int  # seeded runs of each variant
    confirm: int  # more runs of the best candidate, on fresh seeds
    first_seed: int  # run 1's seed (--set seed=S); run i takes S + i - 1
    warm: bool  # one untimed warm-up run per recipe first
    ablate: bool
    candidates: bool  # --candidate was given
    out: Path | None  # the JSON of the runs
    settings: dict  # the study as its JSON stores it: a resumed study's must match
    environment: dict  # this process's machine and versions: a resume's must match too

    def config(self, name: str, seed: int):
        """The TrainConfig that variant ``name``'s run with ``seed`` trains with."""
        from cnnlab.bench.speedrun import speedrun_config

        return speedrun_config(self.device_kind, seed=seed,
                               **{**self.recipe, **self.variants[name]})


def plan_study(*, target: float | None, runs: int, device: str, time_budget: float | None,
               model: str | None, epochs: int | None, batch_size: int | None,
               lr: float | None, compile: bool, threads: int | None, set_: list[str] | None,
               ablate: bool, candidate: list[str] | None, confirm: int,
               warmup: bool | None, out: Path | None) -> SpeedrunStudy:
    """The study the options ask for; raises ConfigError (or UnknownModelError) for the
    first thing wrong with them."""
    from cnnlab.bench.speedrun import speedrun_config
    from cnnlab.bench.speedrun_study import study_settings
    from cnnlab.models import model_info
    from cnnlab.train.config import check_target_accuracy
    from cnnlab.train.device import select_device
    from cnnlab.train.machine import environment_info

    dev = select_device(device)
    _check_study_kind(ablate, candidate, runs, confirm)
    check_target_accuracy(target, "--target")
    if out is not None:
        _check_out(out, ablate)
    flags = dict(model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                 max_time=time_budget, compile=compile or None, device=str(dev),
                 threads=threads)
    recipe, assigned, first_seed = _recipe_from_options(flags, set_)
    # The defaults that depend on the device: a GPU reaches more, and needs warming up.
    target = target if target is not None else (0.94 if dev.type == "cuda" else 0.92)
    warm = warmup if warmup is not None else dev.type == "cuda"
    _check_flag_values(dev.type, recipe, assigned)
    full = speedrun_config(dev.type, seed=0, **recipe)  # a bad --set fails here, early
    model_info(full.model)  # ... and an unknown --model, with the closest names
    _check_seed_range(dev.type, recipe, first_seed, runs, confirm, warm)
    if candidate:
        variants = _candidate_variants(dev.type, recipe, candidate)
    else:
        from cnnlab.bench.speedrun import ABLATIONS, FULL_RECIPE

        variants = ABLATIONS if ablate else {FULL_RECIPE: {}}
    # What runs: an ablation skips a variant the device's recipe already is.
    plan = {name: speedrun_config(dev.type, seed=0, **{**recipe, **change})
            for name, change in variants.items()}
    plan = {name: cfg for name, cfg in plan.items()
            if not (ablate and variants[name] and cfg == full)}
    kind = "candidates" if candidate else "ablation" if ablate else "runs"
    return SpeedrunStudy(
        device_kind=dev.type, device=str(dev), recipe=recipe, variants=variants, plan=plan,
        full=full, target=target, runs=runs, confirm=confirm, first_seed=first_seed,
        warm=warm, ablate=ablate, candidates=bool(candidate), out=out,
        settings=study_settings(kind, target, runs, first_seed, warm, confirm, list(plan)),
        environment=environment_info())  # this process's: a resume's must match


def _check_study_kind(ablate: bool, candidate: list[str] | None, runs: int,
                      confirm: int) -> None:
    """One study a command: runs of the recipe, an ablation, or candidates to pick from."""
    from cnnlab.train import ConfigError

    if ablate and candidate:
        raise ConfigError("--ablate and --candidate are two different studies: pick one")
    if runs < 1 or confirm < 0:
        raise ConfigError("--runs takes a number of runs >= 1, --confirm one >= 0")
    if confirm and not candidate:
        raise ConfigError("--confirm N re-runs the best of the --candidate recipes: "
                          "give candidates, or use --runs N for more runs of the recipe")


def _check_out(out: Path, ablate: bool) -> None:
    """--out is the runs' JSON (an ablation's chart is written beside it)."""
    from cnnlab.train import ConfigError

    from .paths import check_output_file

    check_output_file(out, "--out")
    if ablate and out.suffix.lower() == ".png":  # the chart's own name
        raise ConfigError(f"--out {out} is the JSON of the runs; the --ablate chart "
                          f"goes beside it as {out.stem}.png: give {out.stem}.json")
    if out.suffix.lower() != ".json":  # a .csv name holding JSON would mislead
        raise ConfigError(f"--out {out}: the runs are written as JSON; give "
                          f"{out.with_suffix('.json')}")


def _recipe_from_options(flags: dict, set_: list[str] | None) -> tuple[dict, dict, int]:
    """The changes to the device's recipe (the flags' and --set's, None: not given), the
    --set assignments alone, and the first run's seed (taken out of the changes: every
    run takes its own)."""
    from cnnlab.bench.speedrun import FLAGS
    from cnnlab.train import ConfigError
    from cnnlab.train.config import parse_assignments

    recipe = dict(flags)
    assigned = parse_assignments(set_)
    for fixed, instead in NOT_BY_SET:
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
    return recipe, assigned, first_seed


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


def _check_seed_range(device_kind: str, recipe: dict, first_seed: int, runs: int,
                      confirm: int, warm: bool) -> None:
    """Every seed the study takes, not only run 1's: a bad one failed mid-study, after
    the data had loaded, with a traceback (the config is checked with seed 0)."""
    from cnnlab.bench.speedrun import speedrun_config
    from cnnlab.bench.speedrun_study import CONFIRM_SEEDS
    from cnnlab.train import ConfigError

    # The warm-up run before the confirming runs takes their first seed's warm-up seed.
    last_seed = first_seed + max(
        runs - 1, WARMUP_SEED if warm else 0,
        CONFIRM_SEEDS + max(confirm - 1, WARMUP_SEED if warm else 0) if confirm else 0)
    for seed in (first_seed, last_seed):
        try:
            speedrun_config(device_kind, seed=seed, **recipe)
        except ConfigError as exc:
            raise ConfigError(f"--set seed={first_seed}: this study's runs take seeds "
                              f"{first_seed} to {last_seed} ({exc})") from None


def _candidate_variants(device_kind: str, recipe: dict,
                        candidate: list[str]) -> dict[str, dict]:
    """Each --candidate by its name ('' is "the recipe") and its changes, each checked:
    a bad one is named before any candidate runs."""
    from cnnlab.bench.speedrun import parse_candidate, speedrun_config
    from cnnlab.train import ConfigError

    names = [c.strip() or "the recipe" for c in candidate]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # one would silently replace the other
        raise ConfigError(f"--candidate {twice[0]!r} is given twice; give each "
                          "once (--runs sets how often each runs)")
    variants = {c.strip() or "the recipe": parse_candidate(c) for c in candidate}
    for name, change in variants.items():
        if "seed" in change:
            raise ConfigError(f"candidate {name!r} sets seed: every candidate runs "
                              "the same seeds, chosen with --set seed=S")
        try:
            speedrun_config(device_kind, seed=0, **{**recipe, **change})
        except ConfigError as exc:  # which of the candidates it is
            raise ConfigError(f"--candidate {name!r}: {exc}") from None
    return variants
