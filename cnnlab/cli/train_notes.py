"""What `cnnlab train` says before a run starts: an --out-dir that is a run's folder
refused, the notes that name a better choice (a preset, full precision on a CPU), what
replaces a config file's choices, what the train loss holds that the test loss does
not, and the settings that will have no effect in the run."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from .messages import err, warning


def refuse_a_run_folder_as_out_dir(cfg) -> None:
    """--out-dir names the folder that run folders go in; `--out-dir runs/RUN` (read as
    the run's own folder) or `runs/RUN/checkpoints` wrote a new run inside an old one,
    without a word. Refused before anything is written, naming the folder to give."""
    from cnnlab.train import ConfigError
    from cnnlab.train.run_files import absolute_path

    given = Path(cfg.out_dir).expanduser()
    # Absolute with ".." folded: Path("..").parents is only ".", which is below it, and a
    # run "." has no parent to name.
    out_dir = Path(absolute_path(cfg.out_dir))
    run = next((p for p in (out_dir, *out_dir.parents) if _is_a_cnnlab_run(p)), None)
    if run is None:
        return
    named = f"{given}" if given == out_dir else f"{given} ({out_dir})"
    where = "is a run's folder," if run == out_dir else f"is inside the run folder {run},"
    raise ConfigError(f"--out-dir {named} {where} and --out-dir is the folder the run "
                      f"folders go in: give {run.parent} (and --run-name NAME to name the "
                      "run), or another folder")


def _is_a_cnnlab_run(folder: Path) -> bool:
    """A run folder whose config.yaml is a TrainConfig's: another project's folder holding
    a config.yaml and checkpoints/ (a common layout) looks like a run to is_run_folder,
    and `cnnlab train` there, or with an --out-dir below it, was refused."""
    from cnnlab.data.folder_files import is_run_folder
    from cnnlab.train import ConfigError
    from cnnlab.train.yaml_file import read_mapping

    if not is_run_folder(folder):
        return False
    try:
        values = read_mapping(folder / "config.yaml")
    except (ConfigError, OSError, UnicodeDecodeError):  # not a file cnnlab wrote
        return False
    return isinstance(values, dict) and {"model", "out_dir", "run_name"} <= values.keys()


def hint_at_the_presets(cfg, preset_flag, config_file) -> None:
    """A run with no preset trains with TrainConfig's plain defaults (SGD without
    momentum at a constant lr 0.1, no augmentation), where a model's test accuracy can
    swing from epoch to epoch (a review's lenet_modern: 84.8% at epoch 9, 39.9% at 10).
    Say so, and name the presets: every model has the fast one, book networks the book's
    (its lr, input size, initialisation). Not after ``--preset none``, a choice made."""
    from cnnlab.models import model_info
    from cnnlab.train.distributed import launched_as_main

    if cfg.preset is not None or preset_flag is not None or config_file is not None \
            or not launched_as_main():  # once, not once per torchrun process
        return
    recipe = model_info(cfg.model).book_recipe
    how = ("SGD without momentum" if cfg.optimizer == "sgd" and cfg.momentum == 0
           else cfg.optimizer) + f", {cfg.schedule} lr {cfg.lr:g}"
    book = "" if recipe is None else (
        f", --preset book the book's (lr {recipe.lr:g}, {recipe.resize}x{recipe.resize}, "
        f"{recipe.init} init, {recipe.epochs} epochs)")
    err.print(f"note: no --preset, so {cfg.model} trains with the defaults and the flags "
              f"given ({how}); --preset fast is cnnlab's modern recipe{book}",
              highlight=False)


def note_what_replaces_the_config_files_choices(cfg, config_file) -> None:
    """MODEL and --preset beat a config file's ``model:`` and ``preset:`` (a run's
    config.yaml reused for another network is a common start): say so when they differ,
    since the file's other fields (model_overrides, say) were written for its own model."""
    from cnnlab.train import TrainConfig
    from cnnlab.train.config import is_no_preset
    from cnnlab.train.distributed import launched_as_main

    if config_file is None or not launched_as_main():
        return
    written = TrainConfig.read_file(config_file)
    if is_no_preset(written.get("preset")):  # `preset: none` is no preset, as cfg has it
        written["preset"] = None
    for field, chosen, flag in (("model", cfg.model, "MODEL"), ("preset", cfg.preset, "--preset")):
        if written.get(field) is not None and written[field] != chosen:
            err.print(f"note: {escape(str(config_file))} says {field}: {written[field]}; "
                      f"{flag} replaces it ({chosen or 'none'}), and the file's other "
                      "fields still apply",
                      highlight=False)


def hint_at_fp16_on_a_cpu(cfg) -> None:
    """fp16 autocast on a CPU has no fast kernels: lenet_d2l trained at 1,440 images/s
    against 6,660 in full precision, and inferred at 3,050 against 20,100, on an idle
    2-core x86 machine (BENCHMARKS.md, "Measurements of 2026-12-06, late night")."""
    from cnnlab.train.device import select_device
    from cnnlab.train.distributed import launched_as_main

    if cfg.amp == "fp16" and launched_as_main() and select_device(cfg.device).type == "cpu":
        err.print("note: --amp fp16 on a CPU trains many times slower than full precision "
                  "(no fast fp16 kernels: 4-5x on a 2-core x86 machine); --amp off (or auto) "
                  "is faster")


def note_what_the_train_loss_holds(cfg) -> None:
    """With label smoothing the epoch lines' train loss is the smoothed cross-entropy and
    the test loss the plain one: a lesson's --preset fast run printed "train loss 0.7933
    ... test loss 0.4372", read by students as a bug (the report's curves say it; the
    lines did not). Said once, before the run; not with --quiet, whose lines are a log."""
    from cnnlab.train.distributed import launched_as_main

    if cfg.label_smoothing > 0 and not cfg.quiet and launched_as_main():
        err.print(f"note: the train loss includes label smoothing {cfg.label_smoothing:g}; "
                  "the test loss is plain cross-entropy, so the train loss can stay above "
                  "the test loss", highlight=False)


def warn_about_settings_without_effect(cfg, overrides: dict, config_file) -> None:
    from cnnlab.train import TrainConfig
    from cnnlab.train.distributed import launched_as_main

    if not launched_as_main():
        return
    given = set(overrides)
    if config_file is not None:
        written = TrainConfig.read_file(config_file)
        defaults = TrainConfig().to_dict()
        if set(defaults) <= set(written):
            # A run's own config.yaml names every field: only values other than the
            # defaults were chosen. A hand-written file names what its writer chose.
            written = {k: v for k, v in written.items() if v != defaults.get(k)}
        given |= set(written)
    for note in settings_without_effect(cfg, given):
        warning(note)


def settings_without_effect(cfg, given: set[str]) -> list[str]:
    """What the settings named in ``given`` (flags, a config file's keys) will not do in
    this run, one sentence each. :meth:`TrainConfig.validate` cannot say it, since a field's
    default cannot be told from the same value given, so this is for the command line,
    which knows what the user wrote."""
    notes = []
    if "muon_lr" in given and cfg.optimizer != "muon":
        notes.append(f"muon_lr is used only by optimizer=muon; this run's optimizer is "
                     f"{cfg.optimizer}, so it has no effect")
    if "lookahead_alpha" in given and cfg.lookahead_steps == 0:
        notes.append("lookahead_alpha has no effect without lookahead_steps >= 1 "
                     "(--lookahead-steps)")
    if "channels" in given and cfg.channels is not None and not cfg.data.startswith("folder:"):
        notes.append(f"channels={cfg.channels} decodes a folder's images; {cfg.data} has "
                     "its own channels (fashion-mnist, synthetic: 1), so it has no effect")
    if "new_head" in given and cfg.new_head and not cfg.weights:
        notes.append("new_head has no effect without weights (--weights): the whole model, "
                     "its classifier with it, starts from random values")
    notes += _beyond_the_training_subset(cfg, given)
    if "momentum" in given:
        if cfg.optimizer == "adamw":
            notes.append("momentum has no effect with optimizer=adamw (its betas are "
                         "PyTorch's, 0.9 and 0.999)")
        elif cfg.optimizer in ("nesterov", "muon") and cfg.momentum == 0:
            notes.append(f"momentum 0 with optimizer={cfg.optimizer} means 0.9 (Nesterov's "
                         "step needs momentum); for SGD without momentum use optimizer=sgd")
    return notes


def _beyond_the_training_subset(cfg, given: set[str]) -> list[str]:
    """A batch or a Lookahead period larger than --train-subset allows: `--batch-size
    1000 --train-subset 64` trained on batches of 64 and `--lookahead-steps 1000` never
    synced, each without a word. The subset bounds the images (a smaller dataset has
    fewer), so what is said holds whatever the data; without it nothing is known yet."""
    if not given & {"batch_size", "lookahead_steps"} or cfg.train_subset is None:
        return []
    notes = []
    if "batch_size" in given and cfg.batch_size > cfg.train_subset:
        notes.append(f"batch_size {cfg.batch_size:,} is more than the {cfg.train_subset:,} "
                     f"training images of train_subset, so each epoch is one batch of at "
                     f"most {cfg.train_subset:,}: give --batch-size {cfg.train_subset:,} "
                     "or less, or a larger --train-subset")
    from cnnlab.train.run_data import drops_a_lone_last_image

    # a last batch of one image is dropped (run_data.make_loader): no optimizer step
    batches = -(-cfg.train_subset // cfg.batch_size) - drops_a_lone_last_image(
        cfg.train_subset, cfg.batch_size)
    most_steps = -(-batches // cfg.accum_steps) * cfg.epochs
    if "lookahead_steps" in given and cfg.lookahead_steps > most_steps:
        notes.append(f"lookahead_steps {cfg.lookahead_steps:,} is more than the run's "
                     f"{most_steps:,} optimizer steps at most (train_subset "
                     f"{cfg.train_subset:,}, batch_size {cfg.batch_size:,}, {cfg.epochs} "
                     f"epoch{'s' if cfg.epochs != 1 else ''}), so the slow weights never "
                     f"move: give --lookahead-steps {most_steps:,} or less")
    return notes
