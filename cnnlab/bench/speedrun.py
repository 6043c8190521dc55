"""Speedrun: time to a target Fashion-MNIST test accuracy, over several seeded runs.

The clock starts after the data is loaded into memory and stops when an end-of-epoch
evaluation first reaches the target; it includes building the model, moving the
data to the device, every training step and every evaluation (``wall_s`` of the
Trainer plus its set-up). Each run uses a new seed.

Recipes are per device kind: the GPU recipe uses the wide network with a whitened first
layer, bf16 and channels_last for a few epochs; the CPU recipe ``lenet_modern`` (0.42M
MACs: on two cores every wider network tried cost more time than its accuracy gave
back). Both: device-resident data and augmentation, no translation, a one-cycle
schedule, Muon for the conv filters and SGD with Nesterov momentum for every other
parameter, label smoothing, weight EMA, flip test-time augmentation.
:data:`ABLATIONS` takes each ingredient out in turn (``cnnlab speedrun --ablate``).
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

from cnnlab.train.config import TrainConfig
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
    "cuda": dict(model="speednet_wide", model_overrides={"convs_per_stage": [2, 2, 2]},
                 epochs=4, batch_size=256, lr=0.1, warmup_epochs=0.5, crop_padding=0,
                 whiten_stem=True, optimizer="muon", muon_lr=0.08,
                 amp="bf16", channels_last=True),
}


# What each ingredient is worth: the recipe with one thing taken out, or swapped for
# the plain choice. `cnnlab speedrun --ablate` trains every variant the same number of
# seeded runs; BENCHMARKS.md records the answer instead of assuming it.
FULL_RECIPE = "full recipe"
ABLATIONS: dict[str, dict] = {
    FULL_RECIPE: {},
    "no weight EMA": {"ema_decay": 0.0},
    "no flip TTA": {"tta_flip": False},
    # Two more test-time views, moved diagonally (+-1 px), each with its mirror: +0.07
    # points on average over six CPU-trained 2-2-2 speednets (-0.06 to +0.19;
    # BENCHMARKS.md), at 3x the evaluation: not in a recipe until a run says it pays.
    "shifted copies in the TTA (±1 px)": {"tta_shift": 1},
    # The first conv's filters set to whiten the training images' patches, held fixed.
    # CPU proxy (narrow 2-2-2 speednet, BENCHMARKS.md "A whitened first layer"): after
    # a 4-epoch schedule +0.47 points with its 5x5 first conv, +0.22 with a 3x3 one
    # (3 seeds each), nothing after 6. A short-schedule ingredient: the GPU recipe has it
    # (with Muon, as measured on the CPU; the second entry takes it out), the CPU one not.
    "whitened first layer (held)": {"whiten_stem": True},
    "no whitened first layer": {"whiten_stem": False},
    # Each image mirrored in every other epoch instead of at random (airbench): over any
    # two epochs every image is seen both ways. CPU proxy (whitened narrow 2-2-2
    # speednet, 4 epochs; BENCHMARKS.md "Alternating flips, lookahead and Muon"): +0.10 points
    # (three seeds, +0.09 to +0.11).
    "alternating flips": {"flip_mode": "alternate"},
    # Lookahead (every 5 steps, halfway back to the slow weights), beside the EMA. Same
    # proxy: -0.73 points at lr 0.1 (two seeds), -0.07 at lr 0.2. In no recipe.
    "lookahead (k 5, α 0.5)": {"lookahead_steps": 5},
    # Muon's orthogonalised momentum for the conv filters (the rest Nesterov SGD), in
    # both recipes. Same proxy: +0.94 points at muon_lr 0.08 (two seeds; 0.03 and 0.15
    # less), the largest gain measured there; +1.5 points for the GPU net after 5 epochs.
    "Nesterov SGD for the filters, not Muon": {"optimizer": "nesterov"},
    # Neither recipe translates its images (at these short schedules it costs fit).
    "translation ±1 px": {"crop_padding": 1},
    "translation ±2 px (the fast preset's)": {"crop_padding": 2},
    # Mirrored test images need mirrored training images: flip TTA goes with flips.
    "no flips (training and TTA)": {"flip": False, "tta_flip": False},
    "no label smoothing": {"label_smoothing": 0.0},
    "no input normalisation": {"normalize": False},
    "constant lr, not one-cycle": {"schedule": "constant", "warmup_epochs": 0.0},
    "heavy-ball momentum, not Nesterov": {"optimizer": "sgd"},
    "no weight decay": {"weight_decay": 0.0},
}


@dataclass
class SpeedrunResult:
    seed: int
    time_to_target_s: float | None  # None: target not reached
    final_acc: float
    best_acc: float
    total_time_s: float
    epochs: int
    diverged: bool = False  # the loss went NaN/inf: no accuracy, and never the target


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
    from cnnlab.train.run import train

    start = time.perf_counter()
    try:
        result = train(cfg, data=data, write_run_dir=False)
    except TrainingDiverged:
        nan = float("nan")
        return SpeedrunResult(seed=cfg.seed, time_to_target_s=None, final_acc=nan,
                              best_acc=nan, total_time_s=time.perf_counter() - start,
                              epochs=0, diverged=True)
    total = time.perf_counter() - start
    setup = total - result.history[-1]["wall_s"]  # model build, data to device, cache
    reached = next((r for r in result.history if r["test_acc"] >= target), None)
    return SpeedrunResult(
        seed=cfg.seed,
        time_to_target_s=None if reached is None else setup + reached["wall_s"],
        final_acc=result.final["test_acc"],
        best_acc=result.best_test_acc,
        total_time_s=total,
        epochs=result.final["epoch"],
    )


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
    """One row per variant with its change against the full recipe (accuracy in
    points, time to target in seconds; None where either side never reached it)."""
    base = summaries[FULL_RECIPE]
    rows = []
    for name, s in summaries.items():
        both = s["reached"] == s["runs"] and base["reached"] == base["runs"]
        rows.append({
            "variant": name, **s,
            "delta_acc_points": 100 * (s["final_acc_mean"] - base["final_acc_mean"]),
            "delta_time_s": (s["time_to_target_mean_s"] - base["time_to_target_mean_s"]
                             if both else None),
        })
    return rows


def plot_ablation(rows: list[dict], path) -> None:
    """Horizontal bars: each variant's final accuracy change (points, ± its run std)."""
    from cnnlab.figures import save_figure, subplots

    rows = [r for r in rows if r["variant"] != FULL_RECIPE]
    fig, ax = subplots(figsize=(7, 0.45 * len(rows) + 1.5))
    deltas = [r["delta_acc_points"] for r in rows]
    ax.barh([r["variant"] for r in rows], deltas,
            xerr=[100 * r["final_acc_std"] for r in rows],
            color=["tab:red" if d < 0 else "tab:green" for d in deltas], alpha=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set(xlabel="final test accuracy vs the full recipe (points)",
           title="What each speedrun ingredient is worth")
    ax.grid(axis="x", alpha=0.3)
    save_figure(fig, path)
