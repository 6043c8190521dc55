"""Words for a sweep: how it was set up, and its best networks, as a report shows them.

A design report's errors mean little without the setup behind them: a quick CPU sweep
trains on the first 10,000 training images and measures each error on the first 2,000
test images, for one epoch. Everything here is read from the sweep's store: its spec
and the ``created`` record `cnnlab design run` writes (date, command, machine,
versions). What the store does not hold is said to be not recorded, never guessed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from cnnlab.design.spaces import format_band
from cnnlab.design.sweep_spec import PAPER_RECIPE
from cnnlab.formatting import counted, format_count

# Not in any sweep's store: a report says so rather than leave them to be assumed.
NOT_RECORDED = ("the device each trial trained on (unless the sweep was given --device), "
                "the machine of a sweep resumed elsewhere (the one shown created it), and a "
                "checksum of the data files")

_SHOWN_TRAIN = ("epochs", "optimizer", "momentum", "weight_decay", "lr", "schedule",
                "batch_size", "eval_subset", "device")


# The splits' sizes where the data spec fixes them (a folder's depend on the folder).
_SPLIT_SIZES = {"fashion-mnist": {"training": 60_000, "test": 10_000},
                "synthetic": {"training": 512, "test": 128}}  # make_synthetic's defaults


def _images(subset: int | None, split: str, data: str | None = None) -> str:
    size = _SPLIT_SIZES.get(data or "", {}).get(split)
    if subset and size is not None and subset >= size:  # "the first 200" of 128 images
        return f"all of the {split} split ({size:,} images; the first {subset:,} asked)"
    return f"the first {subset:,} of the {split} split" if subset else f"all of the {split} split"


def error_decimals(spec: dict) -> int:
    """Decimals of a sweep's error %, as a run's report gives an accuracy: 1 below 10,000
    test images (500 images move it by 0.2% each: '89.00' claimed more than they hold),
    2 from there or where the count is not known."""
    from cnnlab.train.report import overall_decimals

    subset = {**PAPER_RECIPE, **spec.get("train", {})}.get("eval_subset")
    size = _SPLIT_SIZES.get(spec.get("data") or "", {}).get("test")
    images = min(subset, size) if subset and size else subset or size
    return overall_decimals(images) if images else 2


def _date(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else ""


def sweep_setup(spec: dict, created: dict, planned: int, counts: dict,
                rows: list[dict], threads: int | None = None) -> dict[str, str]:
    """How a sweep was made, as ``{item: words}`` in reading order (JSON-safe).

    ``spec`` is the store's spec (``SweepSpec.to_dict()``), ``created`` its creation
    record (``environment_info()``: empty for a sweep made without one), ``rows`` its
    trials (started_at / finished_at give when, and how many trained at once),
    ``threads`` the torch threads its CPU trials trained with (the store's record)."""
    train = {**PAPER_RECIPE, **spec.get("train", {})}
    size, channels = spec.get("image_size"), spec.get("in_channels")
    at = f" at {channels}x{size}x{size}" if size and channels else ""
    unfinished = counts.get("pending", 0) + counts.get("running", 0)
    out = {
        "space": f"{spec['space']}, sampling seed {spec.get('seed', 0)} (trial i trains "
                 f"with seed {spec.get('seed', 0)} + i)",
        "trials": f"{planned} planned: {counts.get('done', 0)} done, "
                  f"{counts.get('failed', 0)} failed, {unfinished} not finished",
        "complexity band": f"{format_band(spec.get('macs'))} MACs{at}, "
                           f"{spec.get('num_classes') or '?'} classes",
        "data": spec.get("data", "?"),
        "training images": _images(spec.get("train_subset"), "training", spec.get("data")),
        "error measured on": _images(train.get("eval_subset"), "test", spec.get("data"))
                             + " (top-1 error after the last epoch)",
        "epochs": str(train["epochs"]),
        "optimiser": f"{train['optimizer']}, momentum {train['momentum']:g}, weight decay "
                     f"{train['weight_decay']:g}",
        "learning rate": f"{train['lr']:g}, {train['schedule']} schedule",
        "batch size": str(train["batch_size"]),
        "blocks start as the identity": "yes (zero final BN gamma)"
                                        if spec.get("zero_init_last_bn") else "no",
    }
    other = {k: v for k, v in spec.get("train", {}).items() if k not in _SHOWN_TRAIN}
    if other:
        out["other training settings"] = ", ".join(f"{k}={v}" for k, v in other.items())
    out["device"] = (str(train["device"]) if train.get("device") else
                     "not recorded (the default: a GPU where there is one, else the CPU)")
    # On a CPU a trial's numbers depend on it (the sums are split by it): recorded since
    # the runs that showed it, where the report had said it never was.
    out["torch threads per trial"] = (str(threads) if threads else
                                      "not recorded (a GPU sweep, or one made before it was)")
    # As "trained" writes its dates (the record's ISO form read 2026-12-06T02:50:18)
    out["created"] = str(created.get("date") or "not recorded").replace("T", " ")[:16]
    out["command"] = created.get("command") or "not recorded"
    machine = [created.get(k) for k in ("hostname", "platform") if created.get(k)]
    if created.get("cpu_count"):
        machine.append(f"{created['cpu_count']} CPUs")
    if created.get("gpu"):
        machine.append(f"GPU {created['gpu']}")
    out["machine"] = ", ".join(map(str, machine)) or "not recorded"
    versions = [f"{name} {created[key]}" for key, name in (
        ("cnnlab", "cnnlab"), ("torch", "torch"), ("torchvision", "torchvision"),
        ("numpy", "numpy"), ("cuda", "CUDA"), ("python", "Python")) if created.get(key)]
    out["versions"] = ", ".join(versions) or "not recorded"
    if rows:
        out["trained with"] = trained_with(rows)
    started = [r["started_at"] for r in rows if r.get("started_at")]
    finished = [r["finished_at"] for r in rows if r.get("finished_at")]
    if started and finished:
        most = _most_at_once(rows)
        out["trained"] = f"{_date(min(started))} to {_date(max(finished))}" + (
            "" if not most else ", one trial at a time" if most == 1 else
            f", up to {most} trials at once")
    return out


# Fewer optimizer steps than this per trial, and a sweep's networks stay at chance or far
# from what they can reach: anynetx_a at 1M-4M MACs on Fashion-MNIST, one epoch, batch
# 32 or 128, measured on a 2-core CPU: 8 steps, 89.6-91.2% error (chance: 90%); 25
# steps, 85.6-90.4%; 50 steps, 47.8-52.0%; a lesson's 125 steps learned.
FEW_STEPS = 100
CHANCE_MARGIN = 1.0  # points of error: a trial this near chance (or worse) learned nothing


def steps_per_trial(spec: dict) -> int | None:
    """Optimizer steps each trial of a sweep (its ``SweepSpec.to_dict()``) takes: epochs x
    batches per epoch. None where the training split's size is not known (a folder's,
    without --train-subset); with one, at most that many."""
    train = {**PAPER_RECIPE, **spec.get("train", {})}
    size = _SPLIT_SIZES.get(spec.get("data") or "", {}).get("training")
    subset = spec.get("train_subset")
    images = min(subset, size) if subset and size else subset or size
    if not images:
        return None
    from cnnlab.train.run_data import drops_a_lone_last_image  # torch: imported when asked

    batch = train["batch_size"]
    # Training drops a last batch of one image (batch norm cannot normalise it): 129
    # images in batches of 128 are 1 step.
    return train["epochs"] * (-(-images // batch) - drops_a_lone_last_image(images, batch))


def few_steps_note(spec: dict) -> str | None:
    """Before a sweep trains: a note that its trials take too few steps to learn, and the
    flags that give them more; None where they take enough (or it is not known)."""
    steps = steps_per_trial(spec)
    if steps is None or steps >= FEW_STEPS:
        return None
    return (f"each trial takes only {steps} optimizer steps (epochs x batches of training "
            f"images): under {FEW_STEPS}, a network stays near chance error or far from "
            "what it can reach. Raise --train-subset or --epochs, or lower --batch-size")


def at_chance_note(errors: list[float], num_classes: int | None) -> str | None:
    """After a sweep: a note when every finished trial's error (%) is within CHANCE_MARGIN
    of chance, 100 x (1 - 1/classes), or above it; None otherwise."""
    if not errors or not num_classes or num_classes < 2:
        return None
    chance = 100 * (1 - 1 / num_classes)
    if min(errors) < chance - CHANCE_MARGIN:
        return None
    return (f"every finished trial is at chance ({chance:.0f}% error for {num_classes} "
            "classes): the networks learned nothing, so the analysis would compare noise. "
            "Give each trial more optimizer steps (a larger --train-subset or more --epochs, "
            "or a smaller --batch-size) in a new sweep")


def who_trains(counts: dict, driver: str | None, unknown: str | None,
               command: str) -> str | None:
    """`design status`'s word on whether a `design run` trains the sweep now: ``driver``
    the one that does (its lock's holder); else, with trials left, the ``command`` that
    finishes it; ``unknown`` why whether one does cannot be told (no locks: a sweep being
    trained was said to be stopped). A killed sweep's trials still read 'running'."""
    running = counts.get("running", 0)
    if driver is not None:
        return f"being trained by {driver}"
    if not running + counts.get("pending", 0):
        return None
    if unknown:
        stale = (f"; {running} 'running' may be training now, or left so by a sweep that "
                 "was stopped" if running else "")
        return (f"cannot tell whether a `cnnlab design run` trains it now: {unknown}{stale}. "
                f"If none does, finish it with: {command}")
    stale = (f" ({running} left 'running' by a sweep that was stopped: none trains now)"
             if running else "")
    return f"not running{stale}; finish it with: {command}"


SHOWN_CODES = 3  # the most fingerprints "trained with" names; the others are counted


def trained_with(rows: list[dict]) -> str:
    """The code that trained these finished trials, from each one's fingerprint (its
    ``code``: design/code_check.py): one for all, or how many differ and which trained
    how many; trials stored before fingerprints were are "not recorded". "versions" is
    the creating machine's: a sweep resumed after an upgrade, or on a Ray cluster, may
    have trained with other code."""
    from cnnlab.design.code_check import short

    codes = Counter(short(r["code"]) if r.get("code") else None for r in rows)
    unrecorded = codes.pop(None, 0)
    before = "trained before cnnlab recorded each trial's code"
    if not codes:
        return f"not recorded ({before})"
    if len(codes) == 1 and not unrecorded:
        return f"{next(iter(codes))} " + (f"(all {len(rows)} done trials)" if len(rows) > 1
                                           else "(the one done trial)")
    ranked = codes.most_common()
    words = [f"{code} ({counted(n, 'trial')})" for code, n in ranked[:SHOWN_CODES]]
    rest = ranked[SHOWN_CODES:]
    if rest:
        words.append(f"{len(rest)} other codes ({counted(sum(n for _, n in rest), 'trial')})")
    head = (f"{len(codes)} different codes: " if len(codes) > 1 else "") + "; ".join(words)
    return head + (f"; not recorded for {unrecorded} ({before})" if unrecorded else "")


def _most_at_once(rows: list[dict]) -> int:
    """The most trials that trained at the same time, from each finished trial's start and
    end (the driver's clock). Counting the worker names (host:pid) said "2 worker
    process(es)" for a sweep trained one trial at a time and resumed once: each session's
    process is another name."""
    events = sorted([(r["started_at"], 1) for r in rows if r.get("finished_at")
                     and r.get("started_at")] +
                    [(r["finished_at"], -1) for r in rows if r.get("finished_at")
                     and r.get("started_at")])  # at a tie, one ends (-1) before one starts
    now = most = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def setup_tables(spaces: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(heading, header, rows)`` tables of the sweeps' setups: what every sweep shares
    once, then one column per sweep for what differs (the space, the command, ...)."""
    items: list[str] = []
    for s in spaces:
        items += [k for k in s["setup"] if k not in items]
    values = {item: [s["setup"].get(item, "") for s in spaces] for item in items}
    shared = [[item, v[0]] for item, v in values.items() if len(set(v)) == 1]
    differ = [[item, *v] for item, v in values.items() if len(set(v)) > 1]
    tables = []
    if shared:
        heading = "Every sweep" if len(spaces) > 1 else spaces[0]["label"]
        tables.append((heading, ["setting", "value"], shared))
    if differ:
        tables.append(("Per sweep", ["setting", *[s["label"] for s in spaces]], differ))
    return tables


BEST_PER_SPACE = 5  # networks of lowest error listed per space


def best_trials(rows: list[dict], k: int = BEST_PER_SPACE) -> list[dict]:
    """The ``k`` finished trials of lowest error, each described as it was trained (its
    config, not the raw draw: group widths and widths adjusted to fit), with the RegNet
    rule nearest its widths (:func:`~cnnlab.design.regnet_fit.fit_regnet`: the paper
    found the best AnyNetX_E networks fit it well, which is how RegNet was found).

    A RegNetX trial's fit is to the widths its rule made, before the group-width step
    moved them (:func:`rule_widths`): fitting the trained widths gave e_fit 0.01 to 0.1
    for networks a rule made exactly. ``regnet_fit["widths"]`` names the widths fitted
    where they differ from the trained ones."""
    from cnnlab.design.regnet_fit import fit_regnet

    best = sorted(rows, key=lambda r: (r["error_pct"], r["id"]))[:k]
    out = []
    for r in best:
        c = r["config"]
        depths, widths = rule_widths(r) or (list(c["depths"]), list(c["widths"]))
        fit = fit_regnet(depths, widths)
        fitted = {"w0": fit.w0, "wa": round(fit.wa, 3), "wm": round(fit.wm, 3),
                  "e_fit": round(fit.fit_error, 4)}
        if widths != list(c["widths"]):
            fitted["widths"] = widths
        out.append({"id": r["id"], "error_pct": r["error_pct"], "macs": r["macs"],
                     "params": r["params"], "acts": r["acts"], "stem_width": c.get("stem_width"),
                     "depths": list(c["depths"]), "widths": list(c["widths"]),
                     "bottleneck_ratios": [round(b, 3) for b in c["bottleneck_ratios"]],
                     "group_widths": list(c["group_widths"]), "regnet_fit": fitted})
    return out


def rule_widths(row: dict) -> tuple[list[int], list[int]] | None:
    """(depths, widths) per stage as a RegNetX trial's rule made them, before the
    group-width step (:func:`~cnnlab.models.regnet.generate_regnet` with group width 1
    and no bottleneck moves no width); None for a trial of another space, or one whose
    store holds no draw. An AnyNetX trial's widths were drawn, not made by a rule: it is
    fitted as trained."""
    from cnnlab.models.regnet import generate_regnet

    p = row.get("sample") or {}
    if not {"depth", "w0", "wa", "wm"} <= set(p):  # an AnyNetX draw: per-stage widths
        return None
    stages = generate_regnet(p["w0"], p["wa"], p["wm"], p["depth"], 1, 1.0)
    if list(stages.depths) != list(row["config"]["depths"]):  # not this network's rule
        return None
    return stages.depths, stages.widths


BEST_HEADER = ["space", "trial", "error %", "MACs", "params", "acts", "depths", "widths",
               "bottleneck ratios", "group widths", "nearest RegNet rule (e_fit)"]


def best_trials_rows(spaces: list[dict]) -> list[list[str]]:
    """Rows under :data:`BEST_HEADER`: every space's best trials, lowest error first over
    all of them, each row naming its space (ties keep the spaces' order). A table headed
    "lowest error first" that restarted at each space put the best network of the second
    space below the worst of the first."""
    ranked = sorted(((s, t) for s in spaces for t in s.get("best_trials", [])),
                    key=lambda st: st[1]["error_pct"])  # stable: each space's own order kept
    return [[s["label"], str(t["id"]), f"{t['error_pct']:.{s.get('decimals', 2)}f}",
             format_count(t["macs"]),
             format_count(t["params"]), format_count(t["acts"]), str(t["depths"]),
             str(t["widths"]), str(t["bottleneck_ratios"]), str(t["group_widths"]),
             _fit_text(t.get("regnet_fit"))]
            for s, t in ranked]


def _fit_text(fit: dict | None) -> str:
    """The fitted rule in a cell; "" for a summary written before fits were reported."""
    if not fit:
        return ""
    rule = f"w0 {fit['w0']}, wa {fit['wa']:.3g}, wm {fit['wm']:.3g} ({fit['e_fit']:.3f}"
    if fit.get("widths"):  # not the widths column's: say which were fitted
        return f"{rule} to widths {fit['widths']}, before the group-width step)"
    return rule + ")"
