"""Speedrun: time to a target Fashion-MNIST test accuracy, over several seeded runs.

The clock starts after the data is loaded into memory and stops when an end-of-epoch
evaluation first reaches the target; it includes building the model, moving the
data to the device, every training step and every evaluation: the set-up, timed up to
the start of the Trainer's epochs, plus that epoch's ``wall_s`` (training and evaluation
since then). Each run uses a new seed.

Recipes are per device kind: the GPU recipe uses the wide network with a whitened first
layer, bf16 and channels_last for a few epochs; the CPU recipe ``lenet_modern`` (0.42M
MACs: on two cores every wider network tried cost more time than its accuracy gave
back). Both: device-resident data and augmentation, no translation, a one-cycle
schedule, Muon for the conv filters and SGD with Nesterov momentum for every other
parameter, label smoothing, weight EMA, flip test-time augmentation.
:data:`VARIANTS` takes each ingredient out in turn, or adds one neither recipe has
(``cnnlab speedrun --ablate``).
"""

from __future__ import annotations

import copy
import math
import statistics
import time
import warnings
from dataclasses import dataclass

from cnnlab.formatting import counted, percent_text, rounded_repr
from cnnlab.train.config import TrainConfig
from cnnlab.train.outcome import TrainingInterrupted
from cnnlab.train.presets import preset_values

RECIPES = {
    # No translation (the fast preset's is 2 pixels): this 62k-parameter net is short
    # of capacity: +-2 px ended at 91.8% (2 runs), +-1 at 92.42% and none at 92.55%
    # (10 runs each; BENCHMARKS.md). Flips stay: worth ~0.2 points, and the TTA needs them.
    # Muon for the conv filters: 92% in 57.8 s against 76.1 s for Nesterov SGD (4 seeds,
    # faster in each; final 92.69 against 92.56%; BENCHMARKS.md).
    "cpu": dict(model="lenet_modern", epochs=14, batch_size=256, lr=0.1, crop_padding=0,
                optimizer="muon", muon_lr=0.08),
    # Until 2026-12-04 the GPU recipe was the 1-2-2 net, 12 epochs, batch 512, Nesterov
    # SGD, +-1 px: 92.69% on an H100 (8.3 s), short of 94%. This one is the net with two
    # convs per stage, its first conv whitened, Muon for the filters, no translation: on
    # the CPU in fp32 (BENCHMARKS.md "Muon on the GPU net") 94.50% after 5 epochs where
    # Nesterov SGD reached 92.97%, 94.39/94.25% after 4 (seeds 0, 1), 94.03/94.09% on a
    # 3-epoch schedule: 4 epochs keep a margin over 94%. Not yet run on a GPU:
    # `scripts/gpu-bench.sh` part A1 times it beside shorter and larger-batch schedules.
    "cuda": dict(model="speednet_gpu",
                 epochs=4, batch_size=256, lr=0.1, warmup_epochs=0.5, crop_padding=0,
                 whiten_stem=True, optimizer="muon", muon_lr=0.08,
                 amp="bf16", channels_last=True),
}


# The recipe's options that `cnnlab speedrun` sets by a flag of its own, by the
# TrainConfig field each sets: messages name the flag a user typed, not the field.
FLAGS = {"max_time": "--time-budget", "epochs": "--epochs", "batch_size": "--batch-size",
         "lr": "--lr", "threads": "--threads", "model": "--model", "compile": "--compile"}


def setting_name(key: str) -> str:
    """How a user sets a recipe's field ``key``: its flag, or ``--set key``."""
    return FLAGS.get(key, f"--set {key}")


# What each ingredient is worth: the recipe with one thing taken out, or swapped for
# the plain choice, or with one thing added that neither recipe has. `cnnlab speedrun
# --ablate` trains every variant the same number of seeded runs; BENCHMARKS.md records
# the answer instead of assuming it.
FULL_RECIPE = "full recipe"
TAKES_OUT = "takes out"  # the recipe has the ingredient: its worth is full - without
ADDS = "adds"  # the recipe does not: its worth is with - full


@dataclass(frozen=True)
class Variant:
    """One ablation: the config change, the ingredient it is about, and which way."""

    change: dict
    ingredient: str  # what a bar in the chart is about, named as the thing itself
    kind: str  # TAKES_OUT or ADDS


VARIANTS: dict[str, Variant] = {
    "no weight EMA": Variant({"ema_decay": 0.0}, "weight EMA", TAKES_OUT),
    "no flip TTA": Variant({"tta_flip": False}, "flip TTA", TAKES_OUT),
    # Two more test-time views, moved diagonally (+-1 px), each with its mirror: +0.07
    # points on average over six CPU-trained 2-2-2 speednets (-0.06 to +0.19;
    # BENCHMARKS.md), at 3x the evaluation: not in a recipe until a run says it pays.
    "shifted copies in the TTA (±1 px)": Variant(
        {"tta_shift": 1}, "shifted copies in the TTA (±1 px)", ADDS),
    # The first conv's filters set to whiten the training images' patches, held fixed.
    # CPU proxy (narrow 2-2-2 speednet, BENCHMARKS.md "A whitened first layer"): after
    # a 4-epoch schedule +0.47 points with its 5x5 first conv, +0.22 with a 3x3 one
    # (3 seeds each), nothing after 6. A short-schedule ingredient: the GPU recipe has it
    # (with Muon, as measured on the CPU; the second entry takes it out), the CPU one not.
    # Each entry runs only where it changes the recipe (the CLI skips the other).
    "whitened first layer (held)": Variant(
        {"whiten_stem": True}, "whitened first layer (held)", ADDS),
    "no whitened first layer": Variant(
        {"whiten_stem": False}, "whitened first layer (held)", TAKES_OUT),
    # Each image mirrored in every other epoch instead of at random (airbench): over any
    # two epochs every image is seen both ways. CPU proxy (whitened narrow 2-2-2
    # speednet, 4 epochs; BENCHMARKS.md "Alternating flips, lookahead and Muon"): +0.10 points
    # (three seeds, +0.09 to +0.11).
    "alternating flips": Variant({"flip_mode": "alternate"},
                                 "alternating flips, not random", ADDS),
    # Lookahead (every 5 steps, halfway back to the slow weights), beside the EMA. Same
    # proxy: -0.73 points at lr 0.1 (two seeds), -0.07 at lr 0.2. In no recipe.
    "lookahead (k 5, α 0.5)": Variant({"lookahead_steps": 5}, "lookahead (k 5, α 0.5)", ADDS),
    # Muon's orthogonalised momentum for the conv filters (the rest Nesterov SGD), in
    # both recipes. Same proxy: +0.94 points at muon_lr 0.08 (two seeds; 0.03 and 0.15
    # less), the largest gain measured there; +1.5 points for the GPU net after 5 epochs.
    "Nesterov SGD for the filters, not Muon": Variant(
        {"optimizer": "nesterov"}, "Muon for the filters, not Nesterov SGD", TAKES_OUT),
    # Neither recipe translates its images (at these short schedules it costs fit).
    "translation ±1 px": Variant({"crop_padding": 1}, "translation ±1 px", ADDS),
    "translation ±2 px (the fast preset's)": Variant(
        {"crop_padding": 2}, "translation ±2 px (the fast preset's)", ADDS),
    # Mirrored test images need mirrored training images: flip TTA goes with flips.
    "no flips (training and TTA)": Variant({"flip": False, "tta_flip": False},
                                           "flips (training and TTA)", TAKES_OUT),
    "no label smoothing": Variant({"label_smoothing": 0.0}, "label smoothing", TAKES_OUT),
    "no input normalisation": Variant({"normalize": False}, "input normalisation", TAKES_OUT),
    "constant lr, not one-cycle": Variant({"schedule": "constant", "warmup_epochs": 0.0},
                                          "one-cycle lr, not constant", TAKES_OUT),
    "heavy-ball momentum, not Nesterov": Variant(
        {"optimizer": "sgd"}, "Nesterov momentum, not heavy-ball", TAKES_OUT),
    "no weight decay": Variant({"weight_decay": 0.0}, "weight decay", TAKES_OUT),
}
# What --ablate trains, in this order: the recipe itself, then every variant.
ABLATIONS: dict[str, dict] = {FULL_RECIPE: {}, **{n: v.change for n, v in VARIANTS.items()}}


@dataclass(repr=False)
class SpeedrunResult:
    seed: int
    time_to_target_s: float | None  # None: target not reached
    final_acc: float
    best_acc: float
    total_time_s: float
    epochs: int
    diverged: bool = False  # the loss went NaN/inf: no accuracy, and never the target
    session: int = 0  # the process that ran it, of a resumed study's (speedrun_study.py)

    __repr__ = rounded_repr  # a notebook's list of them: seconds to 4 figures, not 17


class StoppedAfterRun(TrainingInterrupted):
    """Ctrl-C or SIGTERM came once the run's training loop had stopped listening (its
    last evaluation): the run finished (``result``, a result like any other), and the
    study stops after it (after a warm-up run, too)."""

    def __init__(self, result: SpeedrunResult, signal_name: str):
        super().__init__(f"stopped by {signal_name} after the run with seed {result.seed}",
                         signal_name=signal_name)
        self.result = result


def speedrun_config(device_kind: str, seed: int, **overrides) -> TrainConfig:
    # a deep copy: the config must not share the recipe's model_overrides dict
    recipe = copy.deepcopy(RECIPES["cuda" if device_kind == "cuda" else "cpu"])
    given = {k: v for k, v in overrides.items() if v is not None}
    if given.get("model", recipe["model"]) != recipe["model"]:
        recipe.pop("model_overrides", None)  # they shape the recipe's own network only
    recipe.update(given)
    values = preset_values("fast", recipe["model"])
    values.update(tta_flip=True, ema_decay=0.99, quiet=True, seed=seed)
    values.update(recipe)
    # unknown fields get a did-you-mean
    return TrainConfig.from_dict(values).check_new_run()


def run_once(cfg: TrainConfig, data, target: float) -> SpeedrunResult:
    """One seeded run. A run whose loss diverges is a result (it failed), not an error:
    a study of aggressive recipes goes on past it."""
    from cnnlab.train import TrainingDiverged
    from cnnlab.train.run import train_with_trainer

    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # The recipe's EMA decay is ours, chosen for its few hundred steps: a shorter
            # candidate's warm-up-bound EMA is part of what it is, not a mistake to report.
            warnings.filterwarnings("ignore", "ema_decay .* is never reached")
            trainer, result = train_with_trainer(cfg, data=data, write_run_dir=False)
    except TrainingDiverged:
        nan = float("nan")
        return SpeedrunResult(seed=cfg.seed, time_to_target_s=None, final_acc=nan,
                              best_acc=nan, total_time_s=time.perf_counter() - start,
                              epochs=0, diverged=True)
    total = time.perf_counter() - start
    # Model build, data to the device, caches: measured up to the loop's start, so that
    # work after the last epoch (the result, teardown) is never charged to it.
    setup = trainer.loop_started - start
    reached = next((r for r in result.history if r["test_acc"] >= target), None)
    run = SpeedrunResult(
        seed=cfg.seed,
        time_to_target_s=None if reached is None else setup + reached["wall_s"],
        final_acc=result.final["test_acc"],
        best_acc=result.best_test_acc,
        total_time_s=total,
        epochs=result.final["epoch"],
    )
    if trainer.stop_signal:  # no run folder, so no report's writing acts on it
        raise StoppedAfterRun(run, trainer.stop_signal)
    return run


def summarize(results: list[SpeedrunResult], target: float) -> dict:
    def mean_std(values: list[float]) -> tuple[float, float]:
        if not values:
            return float("nan"), float("nan")
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    times = [r.time_to_target_s for r in results if r.time_to_target_s is not None]
    finished = [r for r in results if not r.diverged]  # accuracy of the runs that have one
    return {
        "runs": len(results),
        "target": target,
        "reached": len(times),
        # Over the runs that reached the target only: a mean "over all runs" exists only
        # when all_reached (a run that never got there has no time to average).
        "all_reached": len(times) == len(results) > 0,
        "time_to_target_mean_s": mean_std(times)[0],
        "time_to_target_std_s": mean_std(times)[1],
        "final_acc_mean": mean_std([r.final_acc for r in finished])[0],
        "final_acc_std": mean_std([r.final_acc for r in finished])[1],
        "total_time_mean_s": mean_std([r.total_time_s for r in results])[0],
        "diverged": len(results) - len(finished),
    }


def parse_candidate(text: str) -> dict:
    """``"epochs=8 batch_size=1024 lr=0.4"`` -> the overrides of one candidate recipe
    (``cnnlab speedrun --candidate``). Shell-style quoting groups a value with spaces."""
    import shlex

    from cnnlab.train.config import parse_assignments

    return parse_assignments(shlex.split(text))


def pick_best(summaries: dict[str, dict]) -> tuple[str, str]:
    """The candidate to confirm, and why: the fastest mean time to target among those
    that reached it in every run; if none did, the most accurate."""
    always = {n: s for n, s in summaries.items() if s["runs"] and s["reached"] == s["runs"]}
    if always:
        name = min(always, key=lambda n: always[n]["time_to_target_mean_s"])
        return name, "fastest to the target among candidates that reached it in every run"
    def accuracy(n: str) -> float:
        acc = summaries[n]["final_acc_mean"]
        return -1.0 if acc != acc else acc  # NaN: every run diverged

    name = max(summaries, key=accuracy)
    return name, "no candidate reached the target in every run: the most accurate"


def ablation_rows(summaries: dict[str, dict]) -> list[dict]:
    """One row per variant with its change against the full recipe, both ways:

    - ``delta_acc_points``, ``delta_time_s``: variant - full recipe (accuracy in points,
      time to target in seconds; None where either side never reached it);
    - ``effect_acc_points``, ``effect_time_s``: what the *ingredient* is worth, read one
      way for every variant: full - without for one the recipe has (:data:`TAKES_OUT`),
      with - full for one it lacks (:data:`ADDS`). Accuracy > 0: the ingredient helps;
      time < 0: it gets there sooner. ``effect_acc_spread_points`` is the std of that
      difference of two means, sqrt(s^2/n + s0^2/n0), where both sides have two finished
      runs or more (None otherwise: no spread was measured).

    A variant not in :data:`VARIANTS` is of kind "other": its effect is variant - full.
    """
    base = summaries[FULL_RECIPE]
    rows = []
    for name, s in summaries.items():
        variant = VARIANTS.get(name)
        kind = "full" if name == FULL_RECIPE else variant.kind if variant else "other"
        sign = -1.0 if kind == TAKES_OUT else 1.0
        both = s["reached"] == s["runs"] and base["reached"] == base["runs"]
        delta_acc = 100 * (s["final_acc_mean"] - base["final_acc_mean"])
        delta_time = (s["time_to_target_mean_s"] - base["time_to_target_mean_s"]
                      if both else None)
        n, n0 = s["runs"] - s["diverged"], base["runs"] - base["diverged"]
        spread = (100 * math.sqrt(s["final_acc_std"] ** 2 / n + base["final_acc_std"] ** 2 / n0)
                  if min(n, n0) >= 2 and name != FULL_RECIPE else None)
        rows.append({
            "variant": name, **s,
            "ingredient": variant.ingredient if variant else name, "kind": kind,
            "delta_acc_points": delta_acc, "delta_time_s": delta_time,
            "effect_acc_points": sign * delta_acc + 0.0,  # + 0.0: never -0.0
            "effect_acc_spread_points": spread,
            "effect_time_s": None if delta_time is None else sign * delta_time + 0.0,
        })
    return rows


def recipe_changes(device_kind: str, cfg: TrainConfig) -> list[str]:
    """How ``cfg`` differs from the device's recipe (epochs 2 where the recipe has 14),
    as "field value (recipe: value)": a study run on a changed recipe must say so. Where
    and how fast it ran (device, threads, the seed of run 1) are not changes."""
    recipe = speedrun_config(device_kind, seed=cfg.seed, device=cfg.device,
                             threads=cfg.threads).to_dict()
    given = cfg.to_dict()
    return [f"{k} {given[k]} (recipe: {recipe.get(k)})" for k in given
            if given[k] != recipe.get(k)]


_GROUPS = (
    (TAKES_OUT, "In the recipe: what each ingredient gives (full recipe − recipe without it)"),
    (ADDS, "Not in the recipe: what adding it would give (recipe with it − full recipe)"),
    ("other", "Other variants (variant − full recipe)"),
)


def _points(value: float) -> str:
    """+0.11, -0.52, and 0.00 for a difference that rounds to nothing (not +0.00)."""
    value = round(value, 2)
    return "0.00" if value == 0 else f"{value:+.2f}"


def _subtitle(base: dict, setting: dict) -> list[str]:
    """The baseline and the settings, so that the chart cannot pass for the recipe's
    when the study changed it (fewer epochs, another network)."""
    runs = base["runs"]
    acc = percent_text(base["final_acc_mean"])
    if runs - base["diverged"] >= 2:
        acc += f" ± {100 * base['final_acc_std']:.2f}"
    where = ", ".join(str(setting[k]) for k in ("model", "device") if setting.get(k))
    reached = f"target {100 * base['target']:.1f}% reached in {base['reached']}/{runs} runs"
    if base["reached"]:
        reached += f" (mean {base['time_to_target_mean_s']:.1f} s)"
    lines = [f"Full recipe{f' ({where})' if where else ''}: final test accuracy {acc}; "
             + reached]
    epochs = setting.get("epochs")
    epochs = f"{counted(epochs, 'epoch')}, " if epochs else ""
    lines.append(f"{epochs}{counted(runs, 'seeded run')} per variant; " + (
        "error bars: ± std of the difference of the means" if runs > 1 else
        "one run each: no spread measured, a few tenths of a point may be noise"))
    if setting.get("changes"):
        lines.append("Changed from the recipe: " + "; ".join(setting["changes"]))
    return lines


def plot_ablation(rows: list[dict], path, setting: dict | None = None):
    """Horizontal bars, one per ingredient, every one read the same way: its effect on
    the final test accuracy in points, > 0 where it helps. Ingredients the recipe has
    (full - without) and additions it lacks (with - full) are two panels with their
    own headings. Each bar carries its value (± the std of the difference where there
    are two runs or more); the title block gives the baseline and ``setting`` (model,
    device, epochs, changes: :func:`recipe_changes`), so a chart of a changed recipe
    says so. Returns the Figure, written to ``path``."""
    from cnnlab.figures import fitted, literal, save_figure, subplots

    setting = setting or {}
    base = next(r for r in rows if r["variant"] == FULL_RECIPE)
    groups = [(title, [r for r in rows if r.get("kind") == kind]) for kind, title in _GROUPS]
    groups = [(title, group) for title, group in groups if group] or [("No variant ran", [])]
    heights = [len(group) + 1.0 for _, group in groups]
    # Each line broken to the figure's width: a study with several changes from the
    # recipe had one red line running off both edges of the chart.
    header, changed = [], None  # changed: where the red lines (a changed recipe) start
    for line in _subtitle(base, setting):
        if line.startswith("Changed"):
            changed = len(header)
        header += fitted(line, 8.5 - 0.4, points=9).split("\n")
    head_in = 0.3 + 0.2 * len(header)
    height = 0.4 * sum(heights) + 0.9 * len(groups) + 0.7 + head_in
    fig, axes = subplots(len(groups), 1, figsize=(8.5, height), sharex=True, squeeze=False,
                         gridspec_kw={"height_ratios": heights})
    lows, highs = [0.0], [0.0]
    for ax, (title, group) in zip(axes[:, 0], groups, strict=True):
        for y, r in enumerate(group):
            value, spread = r["effect_acc_points"], r["effect_acc_spread_points"] or 0.0
            finished = r["runs"] - r["diverged"]
            note = "" if r["diverged"] == 0 else f" ({r['diverged']}/{r['runs']} diverged)"
            if not math.isfinite(value):
                ax.text(0, y, "  no accuracy: every run diverged", va="center", fontsize=9)
                continue
            colour = "tab:blue" if round(value, 2) > 0 else (
                "tab:red" if round(value, 2) < 0 else "grey")
            ax.barh(y, value, xerr=spread if r["effect_acc_spread_points"] else None,
                    color=colour, alpha=0.85, capsize=3)
            text = _points(value) + (f" ± {spread:.2f}" if r["effect_acc_spread_points"]
                                     else "") + (f", n={finished}" if note else "") + note
            end = value + spread if value >= 0 else value - spread
            ax.annotate(text, (end, y), xytext=(4 if value >= 0 else -4, 0),
                        textcoords="offset points", va="center", fontsize=9,
                        ha="left" if value >= 0 else "right")
            lows.append(value - spread)
            highs.append(value + spread)
        ax.set_yticks(range(len(group)), [literal(r["ingredient"]) for r in group])
        ax.set_ylim(len(group) - 0.4, -0.6)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(title, fontsize=10, loc="left")
    span = max(max(highs) - min(lows), 0.5)
    axes[0, 0].set_xlim(min(lows) - 0.3 * span, max(highs) + 0.3 * span)  # room for labels
    axes[-1, 0].set_xlabel("effect of the ingredient on the final test accuracy "
                           "(points; > 0: it helps)")
    fig.suptitle("What each speedrun ingredient is worth", fontsize=13, y=1 - 0.12 / height,
                 va="top")
    for i, line in enumerate(header):  # a changed recipe's line in red
        fig.text(0.5, 1 - (0.42 + 0.2 * i) / height, literal(line), ha="center", va="top",
                 fontsize=9, color="darkred" if changed is not None and i >= changed else "black")
    fig.tight_layout(rect=(0, 0, 1, 1 - head_in / height))
    save_figure(fig, path, layout=False)
    return fig
