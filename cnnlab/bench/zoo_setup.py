"""Whether a zoo's output folder holds one setup: each stored row, and each interrupted
model's run, against what this command would train (the data, the epochs, the batch size
and any other setting given), so a table never shows rows of other data or recipes beside
each other as comparable. Data given to run_zoo from Python counts as data of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cnnlab.data import parse_spec
from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.run_files import DATA_RECORD
from cnnlab.train.run_names import file_name_for

# How a row's setup names data given to run_zoo from Python: a setup of its own, apart
# from a run of the same dataset by its spec (zoo_report reads the dataset after it).
GIVEN_DATA = "data given to run_zoo: "


class ZooSetupError(ValueError):
    """The output folder holds a zoo trained otherwise (other data, epochs or settings):
    its rows would be shown beside the new ones as if comparable."""


def zoo_setup(cfg: TrainConfig, overrides: dict | None, given: str | None = None) -> dict:
    """What makes a model's row comparable with the others, from the config that trains
    it (the preset's epochs when none were asked for, so both say 10): the data, the
    epochs, the batch size and any other setting the command gave. Where the data lives,
    and the device, may change. ``given``: the name of data given to run_zoo from Python,
    which the config does not name (it keeps a spec a run can be built from)."""
    kind, path = parse_spec(cfg.data)  # fashion_mnist and fashion-mnist are one dataset
    data = f"folder:{Path(path).expanduser().resolve()}" if kind == "folder" else kind
    if given is not None:  # recorded as the config's spec, it passed for that dataset
        data = f"{GIVEN_DATA}{given}"
    fields = {"epochs", "batch_size", *(overrides or {})} - {"data"}  # data: normalised
    return {"data": data, **{k: getattr(cfg, k) for k in sorted(fields)}}


def _differences(stored: dict, asked: dict) -> list[str]:
    return [f"{k} {stored.get(k)!r} vs {asked.get(k)!r}"
            for k in sorted(set(stored) | set(asked)) if stored.get(k) != asked.get(k)]


def given_name(run_dir: Path) -> str | None:
    """The name of the data a run of run_zoo(data=...) was given (its data.json); None for
    a run of the data its config names (or a record that cannot be read)."""
    try:
        return json.loads((run_dir / DATA_RECORD).read_text(encoding="utf-8"))["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_setup(rows: dict[str, dict], setup_of: Callable[[str], dict],
                 csv_path: Path) -> None:
    """Each finished row against what this command would train its model with."""
    for row in rows.values():
        if row.get("status") != "done":
            continue
        try:
            asked = setup_of(row["model"])
        except Exception:  # a model this cnnlab lacks, or the preset cannot train: kept
            continue
        stored = _stored_setup(row, asked, csv_path)
        differs = _differences(stored, asked)
        if differs:
            way = _to_add_to_it(stored, asked)
            raise ZooSetupError(
                f"{csv_path} holds {row['model']} trained with other settings "
                f"({', '.join(differs)} asked): give another --out ({way}), so the table "
                "compares like with like")


def _to_add_to_it(stored: dict, asked: dict) -> str:
    """How to train into the folder as its rows were: "run it as it was" read as the
    same command, which data given from Python cannot be (nor, then, a table that
    cnnlab bench zoo wrote between f67a0af and 1a2f14d, its data recorded as given)."""
    data = str(stored.get("data", ""))
    if data.startswith(GIVEN_DATA) and data != asked.get("data"):
        # Its rows name the data, not which part of it (a subset keeps its name)
        name = data.removeprefix(GIVEN_DATA)
        return ("or, to add to it, give the data its rows trained on from Python: "
                "run_zoo(models, data=..., ...) from cnnlab.bench.zoo (all of "
                f"{name}: data=cnnlab.load_dataset({name!r}))")
    return "or ask for the settings it holds"


def stored_run(csv_path: Path, model: str) -> Path | None:
    """The run folder of a model's row in the table ``csv_path``, where run_zoo keeps it
    (not the row's run_dir: maybe relative to where the bench ran); None without one."""
    runs = csv_path.with_name(f"{csv_path.stem}-runs")
    for run in (runs / file_name_for(model), runs / model):  # (tv:NAME before 2026-12)
        if (run / "config.yaml").is_file():
            return run
    return None


# run_data's answers by (config.yaml, its mtime and size): a table is read several times
# for each model a bench stores, under its lock, and reading every row's config each
# time took 2 s for a table of 300 rows.
_RUN_DATA: dict[tuple[str, int, int], str] = {}


def run_data(csv_path: Path, model: str) -> str:
    """The data a row without a setup (a table from 2026-11) trained on, as its run's
    config.yaml names it ("" where its run is gone or cannot say): a synthetic zoo read as
    the default Fashion-MNIST showed the book's 72.8% beside a 10% and their difference."""
    run = stored_run(csv_path, model)
    try:
        stat = (run / "config.yaml").stat() if run else None
    except OSError:
        stat = None
    if stat is None:
        return ""
    key = (str((run / "config.yaml").absolute()), stat.st_mtime_ns, stat.st_size)
    if key not in _RUN_DATA:
        try:
            _RUN_DATA[key] = zoo_setup(TrainConfig.load(run / "config.yaml"), None)["data"]
        except ValueError:  # ConfigError is one: an old config today's cannot read
            _RUN_DATA[key] = ""
    return _RUN_DATA[key]


def _stored_setup(row: dict, asked: dict, csv_path: Path) -> dict:
    """A finished row's settings; a table from before the setup column (2026-11) has none:
    its run's config.yaml says them (a synthetic-data row was kept for Fashion-MNIST's)."""
    try:
        if row.get("setup"):
            return json.loads(row["setup"])
        run = stored_run(csv_path, row["model"])
        if run is not None:
            return zoo_setup(TrainConfig.load(run / "config.yaml"), asked, given_name(run))
        runs = csv_path.with_name(f"{csv_path.stem}-runs")
        raise ConfigError(f"{runs / file_name_for(row['model'])} has no config.yaml")
    except ValueError as exc:  # ConfigError is one
        why = (f"its setup column is not JSON ({row['setup'][:40]!r}); was the table edited?"
               if row.get("setup") else f"it kept no settings, and its run cannot say ({exc})")
        raise ZooSetupError(f"{csv_path}: {row['model']}: {why}. Give another --out, so the "
                            "table compares like with like") from None


def check_run_plan(run_dir: Path, asked: dict, data_root: str | None = None) -> None:
    """An interrupted model resumes its own plan: refuse it if this command asks for
    another (resuming would store a row that says the new settings). ``data_root``: the
    command's, where its data is now."""
    try:
        run_cfg = TrainConfig.load(run_dir / "config.yaml")
    except ConfigError as exc:
        raise ZooSetupError(f"{run_dir} (interrupted) cannot be resumed: {exc}. Delete that "
                            "folder to train the model again") from None
    given = given_name(run_dir)
    if given is not None and not str(asked.get("data", "")).startswith(GIVEN_DATA) \
            and _loaded_by_the_command(run_dir, run_cfg, data_root):
        given = None
    stored = zoo_setup(run_cfg, asked, given)  # as that run has them
    differs = _differences(stored, asked)
    if differs:
        raise ZooSetupError(
            f"{run_dir} (interrupted) was started with other settings ({', '.join(differs)} "
            f"asked): give another --out ({_to_add_to_it(stored, asked)}), or delete that "
            "folder")


def _loaded_by_the_command(run_dir: Path, cfg: TrainConfig, data_root: str | None) -> bool:
    """Whether the run's data.json records the very data its config names. `cnnlab bench
    zoo` from c0e697b to 1a2f14d (2026-12-04 to 12-07) loaded its --data once and handed
    it to each run, which recorded it as data given from Python: a model it left
    interrupted was refused as "data 'data given to run_zoo: synthetic' vs 'synthetic'",
    with no way on but retraining. Data given from Python that is not the spec's (a
    subset, other images) keeps a record of its own, so it stays apart."""
    from cnnlab.data import DataError, load_dataset
    from cnnlab.train.run_data import data_record

    kind = parse_spec(cfg.data)[0]
    if kind == "folder":  # the command never handed a folder over
        return False
    fashion = kind == "fashion-mnist"  # found where it is now, never downloaded for this
    options = {"root": data_root or cfg.data_root, "download": False} if fashion else {}
    try:
        recorded = json.loads((run_dir / DATA_RECORD).read_text(encoding="utf-8"))
        data = load_dataset(cfg.data, **options)
    except (OSError, ValueError, DataError):  # unreadable, or no data here: not known
        return False
    return json.loads(json.dumps(data_record(data))) == recorded
