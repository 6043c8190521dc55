"""A speedrun study's JSON (``cnnlab speedrun --out``), and resuming an interrupted one.

The file is rewritten after every finished run with ``"complete": false``; the same
command run again keeps those runs and runs only the missing seeds. "The same" is what
its ``study`` block holds (which study, the target, runs per recipe, the first seed, the
warm-up, the confirming runs, the recipes' names in order) and each stored recipe's
config, seed aside: runs made otherwise would be averaged with the new ones as if they
were comparable, so a command asking for anything else is refused before any run.

Every run carries ``session``, an index into ``sessions``: the environment (command,
date, versions, machine) of the process that ran it. A resumed study's times are still
each run's own, but they come from more than one process.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.formatting import number_as_typed
from cnnlab.train.config import ConfigError

from .speedrun import SpeedrunResult, setting_name

CONFIRM_SEEDS = 1000  # the confirming runs' first seed, after --set seed=S's S
CONFIRM = "--confirm"  # their key among the recipes' (no candidate has this name)
KINDS = {"runs": "the recipe's runs", "candidates": "--candidate",
         "ablation": "--ablate"}
# The study's settings by the option a user gives each with (recipes: the --candidate
# or ablation list).
_NAMES = {"first_seed": "--set seed", "variants": "recipes", "warmup": "--warmup",
          "target": "--target", "runs": "--runs", "confirm": "--confirm"}


@dataclass
class KeptStudy:
    """What an unfinished study at --out holds, checked against this command."""

    runs: dict[str, list[SpeedrunResult]] = field(default_factory=dict)  # by recipe
    confirm: list[SpeedrunResult] = field(default_factory=list)
    confirm_candidate: str | None = None
    sessions: list[dict] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(map(len, self.runs.values())) + len(self.confirm)


def study_settings(kind: str, target: float, runs: int, first_seed: int, warmup: bool,
                   confirm: int, names: list[str]) -> dict:
    """The ``study`` block: what, with the recipes' configs, identifies a study."""
    return {"kind": kind, "target": target, "runs": runs, "first_seed": first_seed,
            "warmup": warmup, "confirm": confirm, "variants": list(names)}


def comparable(config: dict) -> dict:
    """A run's config as the JSON holds it, seed aside (each run has its own)."""
    from .results import json_safe

    return {k: v for k, v in json.loads(json.dumps(json_safe(config))).items()
            if k != "seed"}


def read_study(out: Path) -> dict | None:
    """The speedrun study at ``out``: None where there is none (no file, or one that is
    not a JSON object saying whether it is complete); a file it does not know is
    replaced as before."""
    try:
        body = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("complete"), bool):
        return None
    return body


def finished_runs(body: dict) -> int:
    entries = [body, *(body.get("candidates") or {}).values(),
               *(body.get("variants") or {}).values(), body.get("confirm") or {}]
    return sum(len(e.get("runs") or []) for e in entries if isinstance(e, dict))


# What must match for runs' times to be averaged together: the same card or CPU, the
# threads, the software. (Not the hostname: a lent GPU machine gets a new one each time.)
MACHINE_KEYS = ("gpu", "cpu_model", "cpu_count", "torch_threads", "torch", "cnnlab")


def keep_unfinished(body: dict, out: Path, settings: dict, configs: dict[str, dict],
                    environment: dict) -> KeptStudy:
    """The finished runs of the unfinished study ``body`` (at ``out``), to be kept; a
    ConfigError naming what differs where this command (``settings``, and the config
    of each recipe it would run: ``configs``, by name) asks for another study, or runs
    on another machine (``environment``, against the last session's): an H100's times
    averaged with an H200's, or a CPU's before and after an upgrade, mean nothing."""
    fresh = f"give another --out, or delete {out} to start again"
    stored = body.get("study")
    if not isinstance(stored, dict):
        raise ConfigError(f"{out} holds an unfinished speedrun ({finished_runs(body)} "
                          "finished run(s)) that does not say which settings made it "
                          f"(an older cnnlab wrote it), so it cannot be resumed: {fresh}")
    sessions = body.get("sessions")
    last = sessions[-1] if isinstance(sessions, list) and sessions else {}
    # A key the session did not record (an older cnnlab's) tells no machine apart: it
    # was refused as "cpu_model None there".
    elsewhere = [f"{key} {last.get(key)} there, {environment.get(key)} here"
                 for key in MACHINE_KEYS if isinstance(last, dict) and key in last
                 and last.get(key) != environment.get(key)]
    if elsewhere:
        raise ConfigError(f"{out} holds an unfinished speedrun run on another machine or "
                          f"software ({'; '.join(elsewhere)}): its times and this one's "
                          f"would not compare. Resume it where it ran, or {fresh}")
    differs = _differences(stored, settings)
    try:
        same_kind = stored.get("kind") == settings["kind"]
        entries = _entries(body, settings["kind"], configs) if same_kind else {}
        for name, entry in entries.items():  # each recipe's config, as it would run
            differs += _compare(entry["config"], configs[entry.get("recipe", name)])
        if not differs:
            kept = _kept_runs(body, settings, entries)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{out} holds an unfinished speedrun that cannot be read back "
                          f"({type(exc).__name__}: {exc}; was it edited?): {fresh}") from None
    if differs:
        unique = list(dict.fromkeys(differs))  # a setting most recipes share: once
        raise ConfigError(f"{out} holds an unfinished speedrun made with other settings "
                          f"({', '.join(unique)} asked): run the command that made it "
                          f"to resume it, {fresh}")
    return kept


def _differences(stored: dict, asked: dict) -> list[str]:
    if stored.get("kind") != asked["kind"]:  # the rest follows from it
        return [f"{KINDS.get(stored.get('kind'), stored.get('kind'))} vs "
                f"{KINDS[asked['kind']]}"]
    return [f"{_NAMES.get(k, k)} {_value(stored.get(k))} vs {_value(v)}"
            for k, v in asked.items() if stored.get(k) != v]


def _value(value) -> str:
    """A setting's value as a user types it: none, 30 (not 30.0), [a, b]."""
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return "none" if value is None else number_as_typed(value)


def _entries(body: dict, kind: str, configs: dict[str, dict]) -> dict[str, dict]:
    """The stored recipes that have runs, by name (the confirming runs as CONFIRM)."""
    if kind == "runs":
        entries = {name: body for name in configs}
    else:
        entries = dict(body.get("candidates" if kind == "candidates" else "variants") or {})
    confirm = body.get("confirm") if kind == "candidates" else None
    entries = {n: e for n, e in entries.items() if e.get("runs")}
    if confirm and confirm.get("runs"):
        entries[CONFIRM] = {**confirm, "recipe": confirm["candidate"]}
    # Runs of a recipe this command does not run: the recipes differ (said as such).
    return {n: e for n, e in entries.items() if e.get("recipe", n) in configs}


def _kept_runs(body: dict, settings: dict, entries: dict[str, dict]) -> KeptStudy:
    first, kept = settings["first_seed"], KeptStudy(sessions=list(body.get("sessions") or []))
    for name, entry in entries.items():
        if name == CONFIRM:
            kept.confirm = _results(entry["runs"], first + CONFIRM_SEEDS, settings["confirm"])
            kept.confirm_candidate = entry["recipe"]
        else:
            kept.runs[name] = _results(entry["runs"], first, settings["runs"])
    return kept


def _compare(stored: dict, config: dict) -> list[str]:
    """A recipe's settings that differ, by the flag a user sets each with (``max_time 30.0
    vs None`` was the config's words for ``--time-budget 30 vs none``)."""
    stored = comparable(stored)
    return [f"{setting_name(key)} {_value(stored.get(key))} vs {_value(config.get(key))}"
            for key in sorted(set(stored) | set(config)) if stored.get(key) != config.get(key)]



def _results(stored: list[dict], first_seed: int, most: int) -> list[SpeedrunResult]:
    """Stored runs as results: seeds first_seed, first_seed + 1, ... (no more than
    ``most``), as the study runs them; anything else was not written by it."""
    names = [f.name for f in dataclasses.fields(SpeedrunResult)]
    results = []
    for i, run in enumerate(stored):
        values = {k: run[k] for k in names if k in run}
        for acc in ("final_acc", "best_acc"):  # NaN is written as null
            if values.get(acc) is None:
                values[acc] = math.nan
        result = SpeedrunResult(**values)
        if result.seed != first_seed + i:
            raise ValueError(f"run {i + 1} has seed {result.seed}, not {first_seed + i}")
        results.append(result)
    if len(results) > most:
        raise ValueError(f"{len(results)} runs where the study has {most}")
    return results
