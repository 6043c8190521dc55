"""The zoo benchmark: every selected model trained with one recipe, accuracy beside cost.

``run_zoo`` trains each model with the Trainer and stores its row in
``<out>/zoo-<preset>.csv`` the moment it finishes, so an interrupted bench resumes
where it stopped: finished models are never trained again, and a model whose run
was interrupted continues from its last checkpoint. After every model the Markdown
table and the plots are rewritten from the CSV.

Several benches may share one output folder at once (say, one process per group of
models on one large GPU): a row is stored under a file lock, re-reading the CSV
first, so no process overwrites another's rows, and each model is trained under a claim
of its own, so a model given to two benches is trained by one while the other waits for
its row (where there are locks: Windows has no flock, nor has an NFS mount without
locks, so there one bench per folder).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

from cnnlab import file_lock
from cnnlab.atomic import atomic_write_text, open_to_append, remove_leftover_temp_files
from cnnlab.bench.results import machine_name, write_csv
from cnnlab.bench.zoo_setup import ZooSetupError as ZooSetupError
from cnnlab.bench.zoo_setup import check_run_plan, check_setup, run_data, zoo_setup
from cnnlab.file_lock import LockState
from cnnlab.models import list_models, model_info
from cnnlab.notices import SetupWarning, warn_user
from cnnlab.train.config import TrainConfig
from cnnlab.train.presets import resolve_config
from cnnlab.train.run_names import file_name_for

COLUMNS = [
    "model", "family", "preset", "status", "test_acc", "best_test_acc", "book_acc",
    "book_epochs", "params", "macs", "input_size", "images_per_s", "peak_memory_mib",
    "train_time_s", "epochs", "first_in_process", "device", "machine", "torch_threads",
    "run_dir", "error", "setup",
]
# peak_memory_mib: the highest of the CUDA allocator's per-epoch peaks (MiB), evaluation and
# the device-resident dataset included (see the report's note), blank on other devices. A
# CPU has no per-model counter: the process's peak resident set only grows, so each model
# would inherit the ones before it, the dataset and torch itself.
# torch_threads: torch's CPU threads the model last trained with (its run's summary.json),
# which images_per_s and train_time_s depend on; blank in rows stored before 2026-12.
# train_time_s: training seconds of all epochs, evaluation excluded (the run's own
# train_time_s); stored as wall_time_s before 2026-12, which it never was.
# first_in_process: the first model a bench process trains pays its one-time start-up
# (on 2 CPUs, lenet_bn_d2l first took 18 s, its twin lenet_bn next 3 s; in the other
# order 49 s and 33 s), so its time is flagged; "" when another process trained it.


def default_models() -> list[str]:
    """The book's networks: every model the book trains (whatever the preset)."""
    return [n for n in list_models() if model_info(n).book_recipe is not None]


def zoo_input_size(name: str) -> int:
    """The book's resize for models the book trains; otherwise the model's own size
    (whatever the preset: the book's recipe sets the size of its own networks)."""
    info = model_info(name)
    if info.book_recipe is not None:
        return info.book_recipe.resize
    return max(info.input_size[1], info.min_input_size)


def read_rows(path: Path) -> list[dict]:
    """The stored rows of a zoo table; one that cannot be read is refused, never
    rewritten (it is the user's to look at)."""
    if not path.exists():
        return []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ZooSetupError(f"{path} cannot be read as a zoo table ({exc}): move it away, "
                            "or give another --out") from None
    if rows and "model" not in rows[0]:
        raise ZooSetupError(f"{path} has no model column: not a zoo table. Move it away, or "
                            "give another --out")
    for r in rows:  # (not a column: recovered on each read, never written back)
        if not r.get("setup") and r.get("status") == "done" and r.get("model"):
            r["run_data"] = run_data(path, r["model"])
    return [_upgraded(r) for r in rows]


def _upgraded(row: dict) -> dict:
    """A row stored by an earlier version, in today's columns. Before peak_memory_mib: its
    peak_memory_mb was MiB already, and on a CPU the process's lifetime peak, which says
    nothing about the model (dropped). Before train_time_s: wall_time_s held the same
    training time, under a name that said otherwise."""
    if "peak_memory_mb" in row and "peak_memory_mib" not in row:
        old = row.pop("peak_memory_mb")
        row["peak_memory_mib"] = old if row.get("device", "").startswith("cuda") else ""
    if "wall_time_s" in row and "train_time_s" not in row:
        row["train_time_s"] = row.pop("wall_time_s")
    return row


def run_zoo(
    models: list[str],
    preset: str = "book",
    epochs: int | None = None,
    device: str = "auto",
    out_dir: str | Path = "results",
    data=None,
    data_spec: str = "fashion-mnist",
    data_root: str | None = None,
    overrides: dict | None = None,
    on_result: Callable[[dict], None] | None = None,
    quiet: bool = True,
    on_checked: Callable[[list[str]], None] | None = None,
    threads: int | None = None,
    on_start: Callable[[str, int, int, bool], None] | None = None,
) -> list[dict]:
    """Train every model in ``models`` (skipping finished ones) with one recipe, as
    ``cnnlab bench zoo`` does; return all rows of the table (``out_dir``/zoo-PRESET.csv).

    ``preset``: the recipe (``"book"``; ``"none"``: TrainConfig's defaults) with
    ``epochs`` in place of its own (None: the preset's) and ``overrides`` (TrainConfig
    fields) over it; ``device`` as for ``train``. The data: ``data``, splits loaded in
    Python (a setup of their own: ``data_spec`` is not read then), or else ``data_spec``
    and ``data_root`` as TrainConfig's ``data`` and ``data_root``. Each run goes under
    ``out_dir``/zoo-PRESET-runs/ (``quiet``: its log lines without a progress bar); a
    model stopped halfway resumes there. ``on_result`` is given each row as it is stored.
    ``on_start(name, position, of, resuming)`` is called before each model trains
    (``resuming``: it continues an interrupted run from its checkpoint).
    ``on_checked`` is given the finished models kept, once the stored rows' setups are
    known to match this command's (before that, "kept" could turn out false).
    ``threads``: torch's CPU threads (None: one per core), like the device not part of a
    row's setup: it changes how fast, not what is trained. An ``out_dir`` holding another
    setup's rows is refused (a ZooSetupError) before anything trains."""
    from cnnlab.train import TrainingInterrupted, resume, train
    from cnnlab.train.checkpoint import read_state
    from cnnlab.train.device import select_device
    from cnnlab.train.run import RunFinished, read_result

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"zoo-{preset}.csv"
    runs_dir = out / f"zoo-{preset}-runs"
    rows = {r["model"]: r for r in read_rows(csv_path)}

    def values_for(name: str) -> dict:
        return {"data": data_spec, "data_root": data_root, "device": device,
                "out_dir": str(runs_dir), "run_name": file_name_for(name), "quiet": quiet,
                "resize": zoo_input_size(name), "epochs": epochs, "threads": threads,
                **(overrides or {})}

    def planned(name: str) -> TrainConfig:
        return resolve_config(name, preset=preset if preset != "none" else None,
                              overrides=values_for(name))

    given = data.name if data is not None else None  # data of its own, whatever data_spec says

    def setup_of(name: str) -> dict:
        return zoo_setup(planned(name), overrides, given)

    check_setup(rows, setup_of, csv_path)
    for name in models:  # before any model trains: refused whole, not halfway
        run_dir = runs_dir / file_name_for(name)
        earlier = runs_dir / name  # before 2026-12: "tv:NAME" as it is (POSIX only)
        if earlier != run_dir and earlier.is_dir() and not run_dir.exists():
            earlier.rename(run_dir)  # so an interrupted model resumes, not starts again
        if rows.get(name, {}).get("status") != "done" \
                and (run_dir / "checkpoints" / "last.safetensors").exists():
            check_run_plan(run_dir, setup_of(name), data_root)
    if on_checked:
        on_checked([n for n in models if rows.get(n, {}).get("status") == "done"])
    dev = str(select_device(device))
    first = True  # the first model this process trains pays its start-up
    mine = {}  # the rows this bench stored, by model
    # Each model trained while this bench holds its claim: two benches sharing --out
    # (the same models given to both) had both train it, one deleting the other's run.
    claims = out / f".zoo-{preset}-claims"  # hidden: the table's folder stays the user's
    with contextlib.closing(_claimed_models(models, claims, csv_path)) as claimed:
        for position, name in claimed:
            if rows.get(name, {}).get("status") == "done":
                continue  # stored as soon as it finished: never trained twice
            info = model_info(name)
            size = values_for(name)["resize"] or zoo_input_size(name)  # an override's wins
            channels = data.channels if data is not None else info.input_size[0]
            book = info.book_recipe
            row = {"model": name, "family": info.family, "preset": preset, "device": dev,
                   "machine": machine_name(dev), "input_size": f"{channels}x{size}x{size}",
                   "book_acc": book.book_accuracy if book else "",
                   "book_epochs": book.epochs if book else ""}
            run_dir = runs_dir / file_name_for(name)  # the CSV keeps the model's own name
            trained_here = True
            last = run_dir / "checkpoints" / "last.safetensors"
            if on_start:
                on_start(name, position, len(models), last.exists())
            try:
                if last.exists():
                    trained_before = read_state(last).get("train_time")
                    try:
                        result = resume(run_dir, data=data, threads=threads)  # continue it
                        # A resume that only wrote the outputs a kill cut off trained nothing.
                        trained_here = result.train_time_s != trained_before
                    except RunFinished:  # trained in full, stopped before its row was stored
                        result, trained_here = read_result(run_dir), False
                else:
                    if run_dir.exists():  # started but never checkpointed: start again
                        import shutil

                        shutil.rmtree(run_dir)
                    result = train(planned(name), data=data)
                cfg_used = TrainConfig.load(run_dir / "config.yaml")
                if result.preprocess is not None:  # what the model saw: a tv: model's stem
                    # takes the data's channels (1 for Fashion-MNIST), not its own 3
                    channels, size = result.preprocess.channels, result.preprocess.image_size
                params, macs = _complexity(name, channels, size, cfg_used, run_dir)
                row.update(input_size=f"{channels}x{size}x{size}")
                row.update(
                    status="done", test_acc=result.final["test_acc"],
                    best_test_acc=result.best_test_acc, params=params, macs=macs,
                    images_per_s=result.final["images_per_s"],
                    peak_memory_mib=model_peak_mib(result.history, dev),
                    train_time_s=result.train_time_s, epochs=result.final["epoch"],
                    torch_threads=trained_threads(run_dir),
                    first_in_process=first if trained_here else "",  # "": not known
                    run_dir=str(run_dir), error="",
                    setup=json.dumps(zoo_setup(cfg_used, overrides, given)),  # as trained
                )
            except TrainingInterrupted as exc:  # stop the bench; its next run resumes this model
                exc.way_on = "run_zoo(...) again, as before, continues the zoo"
                raise
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one broken model must not sink the whole bench
                error = " ".join(f"{type(exc).__name__}: {exc}".split())  # one table line
                row.update(status="failed", error=error[:300])
            first = first and not trained_here
            rows = store_row(out, preset, row)
            mine[name] = row
            if on_result:
                on_result(row)
    # Every stored row, those other benches stored meanwhile too; this bench's as trained.
    rows = {**(refresh_outputs(out, preset) or {r["model"]: r for r in read_rows(csv_path)}),
            **mine}
    return [rows[n] for n in models if n in rows]


def _claimed_models(models: list[str], claims: Path, csv_path: Path):
    """(position, name) of each model this bench is to train, yielded while it holds the
    model's claim (``claims/NAME.lock``), so that benches sharing one --out train each
    model once. A model another bench holds is put off to the end, then waited for; one
    stored as done by then (by that bench) is passed over. No claim where there are no
    locks (see :func:`_file_lock`)."""

    queue, put_off = list(enumerate(models, 1)), set()
    for position, name in queue:  # grows while it is walked: the models put off
        if _stored_done(csv_path, name):
            continue  # stored as soon as it finished: never trained twice
        if file_lock.fcntl is None:
            yield position, name
            continue
        claims.mkdir(parents=True, exist_ok=True)
        lock = claims / f"{file_name_for(name)}.lock"  # a+: its holder is read too
        with open_to_append(lock, "a+", encoding="utf-8") as handle:
            state = file_lock.try_lock(handle)
            if state is LockState.BUSY and name not in put_off:
                put_off.add(name)
                queue.append((position, name))
                continue
            if state is LockState.BUSY:
                warn_user(f"{name} is being trained by another bench into {csv_path.parent} "
                          f"(pid {file_lock.holder(handle) or '?'}): waiting for it to "
                          "finish, whose row this table then shows", SetupWarning)
                state = file_lock.try_lock(handle, wait=None)
            try:
                if state is LockState.HELD:
                    file_lock.name_holder(handle, str(os.getpid()))
                if not _stored_done(csv_path, name):  # else by another bench meanwhile
                    yield position, name
            finally:
                if state is LockState.HELD:
                    file_lock.unlock(handle)


def _stored_done(csv_path: Path, name: str) -> bool:
    return any(r["model"] == name and r.get("status") == "done" for r in read_rows(csv_path))


def store_row(out: Path, preset: str, row: dict) -> dict[str, dict]:
    """Add or replace ``row`` in ``zoo-<preset>.csv`` and rewrite the table and plots;
    returns every stored row by model. Other processes' rows written meanwhile are kept."""
    csv_path = out / f"zoo-{preset}.csv"
    with _file_lock(out / f".zoo-{preset}.lock"):
        rows = {r["model"]: r for r in read_rows(csv_path)}
        rows[row["model"]] = row
        write_csv(csv_path, list(rows.values()), columns=COLUMNS)
        write_outputs(out, preset, list(rows.values()))
    return rows


def refresh_outputs(out: Path, preset: str) -> dict[str, dict] | None:
    """Rewrite the table and plots where they are missing or older than the CSV, and
    return every stored row by model (None when they were up to date). A bench killed
    between storing its last row and drawing them left them a model short, and a run of
    the same command, finding every model done, trained nothing and so rewrote nothing."""
    csv_path = out / f"zoo-{preset}.csv"
    with _file_lock(out / f".zoo-{preset}.lock"):
        if not csv_path.is_file():
            return None
        rows = read_rows(csv_path)
        from cnnlab.bench.zoo_report import FIGURE_SUFFIXES

        drawn = any(r.get("status") == "done" for r in rows)  # no figure of failures alone
        outputs = [out / f"zoo-{preset}.md"] + [
            out / f"zoo-{preset}{suffix}" for suffix in (FIGURE_SUFFIXES if drawn else ())]
        stored = csv_path.stat().st_mtime_ns
        if all(p.is_file() and p.stat().st_mtime_ns >= stored for p in outputs):
            return None
        write_outputs(out, preset, rows)
        return {r["model"]: r for r in rows}


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive advisory lock on ``path``, waited for; none where there are no locks:
    off POSIX (Windows: one bench per folder, and no lock file left in it) or on a mount
    without them (NFS nolock: there too)."""
    if file_lock.fcntl is None:
        yield
        return
    unguarded = file_lock.Unguarded("zoo", path, (
        f"the zoo bench's rows in {path.parent} are stored unguarded: two benches storing a "
        "row there at the same moment can lose one of the rows. Bench into this folder from "
        "one command at a time, or give --out a file system with locks"))
    with open_to_append(path, encoding="utf-8") as handle, \
            file_lock.exclusive(handle, wait=None, unguarded=unguarded):
        yield


def model_peak_mib(history: list[dict], device: str) -> float | str:
    """The highest of the epochs' CUDA allocator peaks (each epoch resets the counter);
    "" elsewhere: see ``COLUMNS``."""
    if not device.startswith("cuda"):
        return ""
    peaks = [h["peak_memory_mb"] for h in history if h.get("peak_memory_mb") is not None]
    return max(peaks) if peaks else ""


def trained_threads(run_dir: Path) -> int | str:
    """The torch CPU threads a run last trained with, as its summary.json's environment
    records them (the count in force: one per core unless set); "" where it does not say.
    Read from the run, not this process: a model resumed or finished elsewhere trained
    with that process's."""
    from cnnlab.train.resume_checks import summary_file

    env = (summary_file(run_dir) or {}).get("environment")
    return env.get("torch_threads", "") if isinstance(env, dict) else ""


def _complexity(name: str, channels: int, size: int, cfg: TrainConfig,
                run_dir: Path) -> tuple[int, int]:
    """(parameters, MACs per image) of the model as the run built it: its options, and a
    classifier for the data's classes (a folder of 3 classes is not Fashion-MNIST's 10)."""
    from cnnlab.bench.complexity import complexity

    build = dict(cfg.model_overrides)
    if model_info(name).sized_head:
        build.setdefault("image_size", size)
    return complexity(name, (channels, size, size), num_classes=_trained_classes(run_dir),
                      in_channels=channels, **build)


def _trained_classes(run_dir: Path) -> int:
    """How many classes the run trained on: its summary.json's list, or its last
    checkpoint's (a run killed after training, before it wrote its summary)."""
    try:
        return len(json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["classes"])
    except (OSError, ValueError, KeyError, TypeError):
        from cnnlab.train.checkpoint import load_checkpoint

        _, state = load_checkpoint(run_dir / "checkpoints" / "last.safetensors")
        return len(state["classes"])


def write_outputs(out: Path, preset: str, rows: list[dict]) -> None:
    """zoo-<preset>.md and the three plots, from the stored rows. Called under the
    preset's lock (store_row, refresh_outputs)."""
    from cnnlab.bench.zoo_report import FIGURE_SUFFIXES, markdown_table, plot_zoo

    # A bench killed while writing these left its temporary files (a plot's is as large
    # as the plot), which no later bench removed. Only this preset's: the lock held is
    # this preset's, and a bench of another may be writing its own now.
    for name in (f"zoo-{preset}.csv", f"zoo-{preset}.md",
                 *(f"zoo-{preset}{suffix}" for suffix in FIGURE_SUFFIXES)):
        remove_leftover_temp_files(out, name)
    atomic_write_text(out / f"zoo-{preset}.md", markdown_table(rows))
    done = [r for r in rows if r.get("status") == "done"]
    if done:
        plot_zoo(done, out / f"zoo-{preset}")
