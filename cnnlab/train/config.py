"""TrainConfig: every setting of a training run, validated, and its YAML file.

A run's settings come from, in order of precedence (later wins):
dataclass defaults < preset < ``--config FILE`` < command-line flags (``cnnlab.train.presets``).
The resolved config is written to ``config.yaml`` in the run directory, so a run
can always be repeated or resumed from its own folder.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from cnnlab.atomic import atomic_write_text
from cnnlab.train.config_kinds import KIND_WORDS, PathText, as_number, has_kind, keep_given_forms
from cnnlab.train.run_names import new_run_name_problem, run_name_problem

OPTIMIZERS = ("sgd", "nesterov", "adamw", "muon")
SCHEDULES = ("constant", "onecycle", "cosine")
AMP_MODES = ("auto", "off", "bf16", "fp16")
# torch.compile's modes. The two with CUDA graphs replay each step's kernels as one
# launch: for small networks on a GPU the CPU's kernel launches are the limit.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")
PRESETS = ("book", "fast")
# Upper bounds past which a value cannot be what was meant, refused before anything is
# built (each failed deep in torch, or as "Overflow when unpacking long"): an image side
# past 2**20 overflows torch's size arithmetic (a smaller one too large is named as the
# model is built), a padded stem is for a few channels (4 or 8 suit tensor cores), and
# CPU threads past one per core only compete (1024: more cores than a machine has).
MAX_IMAGE_SIDE, MAX_PAD_STEM_CHANNELS, MAX_THREADS = 2**20, 64, 1024
FLIP_MODES = ("random", "alternate")  # as cnnlab.data.augment.FLIP_MODES (a test checks)


def is_no_preset(preset: Any) -> bool:
    """Whether ``preset`` says "no preset": ``none`` in any case (as --preset's help)."""
    return isinstance(preset, str) and preset.strip().lower() == "none"


# Other tools' names for fields, too far from ours in spelling for difflib to find.
SYNONYMS = {"learning_rate": "lr", "num_epochs": "epochs", "max_epochs": "epochs",
            "wd": "weight_decay", "bs": "batch_size", "optim": "optimizer",
            "arch": "model", "dataset": "data"}


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field and what is allowed."""


def invalid_value(field: str, value, allowed: str) -> ConfigError:
    """The error for ``field``'s ``value``, with what is ``allowed``, kept as attributes
    too: a command names the flag that set the field (cli/messages.by_flag)."""
    error = ConfigError(f"invalid value for {field}: {value!r}; allowed: {allowed}")
    error.field, error.value, error.allowed = field, value, allowed
    return error


class UnknownFieldError(ConfigError, TypeError):
    """A name that is no TrainConfig field, with the closest one. A TypeError too: what
    Python raises for an unexpected keyword argument, for callers that catch that."""


def unknown_fields_error(unknown: list[str], known: set[str]) -> UnknownFieldError:
    """The error for ``unknown`` field names, each with the field meant where one is close
    (or is another tool's name for it: ``learning_rate`` is ``lr``)."""
    import difflib

    hints = []
    for name in unknown:
        match = [SYNONYMS[name]] if SYNONYMS.get(name) in known else (
            difflib.get_close_matches(name, known, 1))
        hints.append(f"{name} (did you mean {match[0]}?)" if match else name)
    return UnknownFieldError(f"unknown config field(s): {', '.join(hints)}")


def check_target_accuracy(target: float | None, name: str = "target") -> None:
    """Refuse a target test accuracy outside (0, 1], naming it as ``name`` (the option
    that gave it) and, for what reads as a percentage, the fraction meant."""
    if target is None or 0 < target <= 1:
        return
    hint = f"; did you mean {target / 100:g}?" if 10 <= target <= 100 else ", e.g. 0.9"
    raise ConfigError(f"{name} {target:g}: a test accuracy is a fraction in (0, 1]{hint}")


@dataclass
class TrainConfig:
    """Every setting of a run. Each field but model_overrides and split_seed is the
    ``cnnlab train`` option of its name (``lr`` is ``--lr``), which ``cnnlab train --help``
    explains with its default; the comments beside the fields below say more. Groups:
    what to train on what (model, data, starting weights), optimisation (epochs, lr and
    its schedule, regularisation, EMA), the data pipeline (augmentation, resize,
    normalisation, test-time augmentation), speed (device, amp, compile, threads) and
    bookkeeping (seeds, time budget, logging, where the run folder goes).

    A preset is applied by ``resolve_config(model, preset=..., overrides={...})``, not by
    ``TrainConfig(preset=...)``, which train() refuses. Unknown names are refused, naming
    the field meant; values are checked by :meth:`validate` (``train()`` calls it; in a
    notebook, ``TrainConfig(...).validate()`` says at once what a run would refuse).
    ``quiet``: one log line per epoch and no progress bar.
    """

    # What to train on what
    model: str = "lenet_modern"
    data: str = "fashion-mnist"  # or "folder:PATH" or "synthetic"
    channels: int | None = None  # folder images decoded as 1 (grey) or 3 (RGB); None: the model's
    data_root: PathText | None = None
    preset: str | None = None
    # Start from these weights: safetensors / .pth file, or a torchvision weights name
    # ("DEFAULT"); adapted to the data's classes and channels (models/pretrained.py).
    weights: PathText | None = None
    model_overrides: dict[str, Any] = field(default_factory=dict)
    # Build the model with cnnlab's from-scratch ops (cnnlab.ops): False, True or "fft".
    scratch_ops: bool | str = False
    # Train the classifier only; batch norm's running statistics still follow the new data
    freeze_backbone: bool = False
    new_head: bool = False  # a new classifier even where the weights' fits the classes
    backbone_lr_scale: float = 1.0  # backbone lr = lr x this; the classifier gets lr
    # Set the first convolution's filters to whiten the training images' patches and
    # hold them fixed (models/whitened_stem.py): early epochs start from what they learn.
    whiten_stem: bool = False

    # Optimisation
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "sgd"
    # With optimizer=muon: the lr of the convolution filters (Muon's orthogonalised
    # steps); every other parameter takes Nesterov SGD at ``lr``. 0.08: the best of
    # 0.03 / 0.08 / 0.15 on the speedrun's CPU proxy (BENCHMARKS.md).
    muon_lr: float = 0.08
    momentum: float = 0.0
    weight_decay: float = 0.0  # never applied to norm and bias parameters
    schedule: str = "constant"
    warmup_epochs: float = 0.0  # linear; in optimizer steps, at least 2 when > 0
    label_smoothing: float = 0.0
    # Weight EMA (0: off), warmed up (optim.ema_decay_at): reached after ~9/(1 - ema_decay)
    # optimizer steps (0.999: 8,990); train() warns of a run too short for a decay given.
    ema_decay: float = 0.0
    # Lookahead: every N optimizer steps the slow weights move lookahead_alpha of the way
    # to the live ones and training restarts from them (0 turns it off).
    lookahead_steps: int = 0
    lookahead_alpha: float = 0.5
    clip_grad_norm: float = 0.0  # 0 turns clipping off
    accum_steps: int = 1

    # Data pipeline (all on the training device)
    resize: int | None = None  # None: the dataset's own size
    crop_padding: int = 0  # random translation by up to N pixels of the stored image
    flip: bool = False
    # With flip: "random" (each epoch anew) or "alternate" (each image flipped in every
    # other epoch; airbench's alternating flip). See cnnlab.data.augment.Augment.
    flip_mode: str = "random"
    erase_prob: float = 0.0
    normalize: bool = False
    tta_flip: bool = False  # evaluate on the image and its mirror, average logits
    # Also on copies moved diagonally by +-N pixels of the model's input (0: off); with
    # resize, training translates before resizing, so match N to the scale.
    tta_shift: int = 0

    # Speed
    device: str = "auto"
    amp: str = "auto"  # auto: bf16 on CUDA, off elsewhere
    # None: on for CUDA only. On CPU, channels_last convolutions measured ~14x slower
    # (lenet_modern, 2 cores, torch 2.14); on GPU tensor cores want it.
    channels_last: bool | None = None
    compile: bool = False
    compile_mode: str = "default"  # with compile: one of COMPILE_MODES
    # The optimizer's update as one fused kernel per parameter group (torch's fused=True)
    # instead of the several multi-tensor kernels of its default: same arithmetic, fewer
    # launches, for short GPU steps where launches count.
    fused_optimizer: bool = False
    # Compute the first convolution on this many input channels, zeros added to input
    # and weight (0 = off): same outputs, same weights; cuDNN is slow on one channel.
    pad_stem_channels: int = 0
    deterministic: bool = False
    threads: int | None = None  # torch CPU threads (None: PyTorch's default, one per core)

    # Bookkeeping
    seed: int = 0
    # Seeds a folder dataset's held-out split, apart from ``seed`` so that runs differing
    # in their seed are scored on the same images. (A run directory written before this
    # field existed drew it with its ``seed``, and ``load`` reads it back that way.)
    split_seed: int = 0
    max_time: float | None = None  # seconds; stops at the end of the step that crosses it
    log_every: int = 50  # steps between progress updates (each one syncs the device)
    out_dir: PathText = "runs"
    run_name: str | None = None
    quiet: bool = False
    train_subset: int | None = None  # train on the first N training images only (quick runs)
    eval_subset: int | None = None  # evaluate on the first N test images only (quick runs)
    # Evaluate after every N-th epoch and always after the last (and on an early stop);
    # the other epochs' test columns are NaN. For short runs whose evaluation (with
    # test-time augmentation) is a sizeable share of the time.
    eval_every: int = 1
    # The preset whose values this config holds: set by preset_values (so resolve_config)
    # and by load (a run's config.yaml holds them); never saved. ``preset`` alone only
    # names one, and train() refuses a preset named but not applied (see check_preset).
    applied_preset: str | None = field(default=None, repr=False, compare=False)

    def __new__(cls, *args: Any, **kwargs: Any) -> TrainConfig:
        # Before the generated __init__, whose bare TypeError names no field that was meant.
        unknown = sorted(set(kwargs) - {f.name for f in fields(cls)})
        if unknown:
            raise unknown_fields_error(unknown, {f.name for f in fields(cls)})
        return super().__new__(cls)

    def __post_init__(self) -> None:
        if is_no_preset(self.preset):  # --preset none, `preset: none`: stored as null
            self.preset = None
        if isinstance(self.model, str) and ":" not in self.model:
            # The registry's names are lower case and looked up in any case: the run's
            # folder and config.yaml keep the registered spelling, not "LeNet_D2L".
            self.model = self.model.lower()
        keep_given_forms(self)  # paths as text, the dataset's name as cnnlab spells it

    def __repr__(self) -> str:
        """The model and the fields that differ from the defaults, in the field order: a
        notebook cell's last value reads as what was chosen (the whole dataclass ran to
        ~900 characters). It builds an equal config; ``to_dict()`` has every field."""
        def default(f):
            return f.default_factory() if f.default_factory is not dataclasses.MISSING \
                else f.default
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.repr and (f.name == "model" or getattr(self, f.name) != default(f))]
        return f"TrainConfig({', '.join(shown)})"

    def validate(self) -> TrainConfig:
        """This config, once every field holds a value it allows (else a ConfigError)."""
        def bad(name: str, allowed: str) -> None:
            raise invalid_value(name, getattr(self, name), allowed)

        self._check_types()
        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", ", ".join(OPTIMIZERS))
        if self.schedule not in SCHEDULES:
            bad("schedule", ", ".join(SCHEDULES))
        if self.amp not in AMP_MODES:
            bad("amp", ", ".join(AMP_MODES))
        if self.flip_mode not in FLIP_MODES:
            bad("flip_mode", ", ".join(FLIP_MODES))
        if self.flip_mode != "random" and not self.flip:
            raise ConfigError(f"flip_mode={self.flip_mode} needs flip=true (--flip)")
        if self.compile_mode not in COMPILE_MODES:
            bad("compile_mode", ", ".join(COMPILE_MODES))
        if self.compile_mode != "default" and not self.compile:
            raise ConfigError(f"compile_mode={self.compile_mode} needs compile=true "
                              "(--compile)")
        if self.compile and self.compile_mode in CUDA_GRAPH_MODES and self.accum_steps > 1:
            # A replayed graph reuses its gradient memory, so gradients cannot be
            # accumulated over several steps in it (torch refuses at the second step).
            raise ConfigError(f"compile_mode={self.compile_mode} (CUDA graphs) cannot "
                              "accumulate gradients: use accum_steps=1 or "
                              "compile_mode=max-autotune-no-cudagraphs")
        if self.preset is not None and self.preset not in PRESETS:
            bad("preset", ", ".join(PRESETS) + ", or none")
        for name in ("epochs", "batch_size", "accum_steps", "log_every", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad(name, "a whole number >= 1")
        if not self.lr > 0:
            bad("lr", "a number > 0")
        if not self.muon_lr > 0:
            bad("muon_lr", "a number > 0")
        if self.optimizer == "muon" and self.fused_optimizer:
            raise ConfigError("optimizer=muon has no fused kernel: drop --fused-optimizer")
        for name in ("momentum", "label_smoothing", "erase_prob", "ema_decay"):
            if not 0.0 <= getattr(self, name) < 1.0:
                bad(name, "a number in [0, 1)")
        for name in ("weight_decay", "warmup_epochs", "clip_grad_norm"):
            if getattr(self, name) < 0:
                bad(name, "a number >= 0")
        if self.scratch_ops not in (False, True, "fft"):
            bad("scratch_ops", "false, true or 'fft'")
        for name in ("seed", "split_seed"):  # torch's generators take unsigned 64 bits
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or \
                    not 0 <= value < 2**64:
                bad(name, f"a whole number from 0 to {2**64 - 1}")
        if self.threads is not None and self.threads < 1:
            bad("threads", "a whole number >= 1, or None")
        if self.threads is not None and self.threads > MAX_THREADS:
            bad("threads", f"at most {MAX_THREADS} (one per core is the most that helps), "
                "or None")
        if not 0.0 < self.lookahead_alpha <= 1.0:
            bad("lookahead_alpha", "a number in (0, 1]")
        for name in ("crop_padding", "tta_shift", "pad_stem_channels", "lookahead_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                bad(name, "a whole number >= 0")
        if self.pad_stem_channels > MAX_PAD_STEM_CHANNELS:
            bad("pad_stem_channels", f"a few channels (4 or 8), at most {MAX_PAD_STEM_CHANNELS}")
        if self.channels not in (None, 1, 3):
            bad("channels", "1 (greyscale) or 3 (RGB), or None: as the model takes them")
        if self.resize is not None and not 8 <= self.resize <= MAX_IMAGE_SIDE:
            bad("resize", f"a size in pixels from 8 to {MAX_IMAGE_SIDE}, or None for the "
                "dataset's own size")
        if self.train_subset is not None and self.train_subset < 1:
            bad("train_subset", "a number of training images >= 1, or None for all of them")
        if self.eval_subset is not None and self.eval_subset < 1:
            bad("eval_subset", "a number of test images >= 1, or None for all of them")
        if self.run_name is not None and (why := run_name_problem(self.run_name)):
            bad("run_name", f"a folder name under out_dir, without '/' or '..' (e.g. "
                f"lenet-lr0.1); {why}")
        if self.max_time is not None and self.max_time <= 0:
            bad("max_time", "seconds > 0")
        if not self.backbone_lr_scale > 0:
            bad("backbone_lr_scale", "a number > 0 (e.g. 0.1: the backbone learns 10x slower)")
        if not isinstance(self.whiten_stem, bool):
            bad("whiten_stem", "true or false")
        if self.model_overrides:
            from cnnlab.train.model_setup import check_model_overrides  # loads torch

            check_model_overrides(self.model, self.model_overrides)
        if self.whiten_stem and self.weights:
            raise ConfigError(
                "whiten_stem would overwrite the first layer of the loaded weights; "
                "use one or the other"
            )
        if self.freeze_backbone and self.backbone_lr_scale != 1.0:
            raise ConfigError(
                "freeze_backbone trains the classifier only, so backbone_lr_scale has nothing "
                "to scale; use one or the other"
            )
        return self

    def check_new_run(self) -> TrainConfig:
        """This config, once it holds what a new run's plan must beyond :meth:`validate`
        (which reads back every run ever written, so it stays as lenient as they were);
        else a ConfigError."""
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            raise invalid_value("warmup_epochs", self.warmup_epochs, f"fewer than the "
                                f"{self.epochs} epochs of the run (the warm-up would take "
                                "all of it, and the learning rate never decay)")
        # Blank text read as "not given": weights '' trained from random weights, and
        # out_dir '' wrote the run into the current folder, each without a word.
        for name, allowed in (("weights", "a weights file or a torchvision weights name, "
                               "or None: randomly initialised"),
                              ("out_dir", "a folder for the run folders (e.g. runs)")):
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                raise invalid_value(name, value, allowed)
        if self.run_name is not None and (why := new_run_name_problem(self.run_name)):
            raise invalid_value("run_name", self.run_name, f"a folder name under out_dir; {why}")
        return self

    def _check_types(self) -> None:
        """Each field's value against its annotation, so that ``lr: abc`` or ``flip: fasle``
        (YAML reads both as text) is named here instead of failing a comparison later or
        being read as true."""
        for f in fields(self):
            value = getattr(self, f.name)
            kinds = [k.strip() for k in str(f.type).split("|")]
            if value is None and "None" in kinds:
                continue
            ok = any(has_kind(value, kind) for kind in kinds)
            if not ok and all(k in KIND_WORDS for k in kinds):
                allowed = " or ".join(KIND_WORDS[k] for k in kinds)
                raise invalid_value(f.name, value, allowed)
            # YAML reads .nan and .inf as numbers: NaN passes every `<` check, inf diverges.
            if isinstance(value, float) and not math.isfinite(value):
                raise invalid_value(f.name, value, "a finite number")

    # YAML round trip -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field as config.yaml keeps it (``applied_preset`` is ``load``'s to infer)."""
        values = dataclasses.asdict(self)
        del values["applied_preset"]
        return values

    def save(self, path: str | Path) -> None:
        """Write it as YAML to ``path`` (atomically: a kill leaves the earlier file)."""
        atomic_write_text(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config of the fields ``values`` sets (YAML's spellings read), validated."""
        return cls(**cls._normalise(values)).validate()

    @classmethod
    def _normalise(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Unknown fields refused (with the closest names); YAML's spellings of numbers
        and of ``amp: off`` read as meant. No validation: see ``read_file``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise unknown_fields_error(unknown, known)
        if values.get("amp") is False:  # YAML 1.1 reads a bare `off` as false
            values = {**values, "amp": "off"}
        # YAML 1.1 reads 5e-4 (no dot) as text; a number field takes it as the number.
        numbers = {f.name for f in fields(cls) if "float" in str(f.type)}
        return {k: as_number(v) if k in numbers else v for k, v in values.items()}

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """A run directory's config.yaml at ``path`` (a settings file of one's own goes
        through ``resolve_config(model, config_file=...)``, which applies its preset)."""
        values = cls.read_file(path)
        if "model" not in values:  # an empty file would become every default, lenet_modern
            raise ConfigError(f"{path} names no model: it is empty or incomplete, not the "
                              "config.yaml a run writes")
        values.setdefault("split_seed", values.get("seed", 0))  # see split_seed
        if (Path(path).parent / "checkpoints").is_dir():
            # A run's own file holds its preset's values (it trained with them); a file
            # written by hand that only names a preset does not, and train() says so.
            values.setdefault("applied_preset", values.get("preset"))
        try:
            return cls.from_dict(values)
        except ConfigError as exc:  # a value edited by hand: say in which file
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def read_file(cls, path: str | Path) -> dict[str, Any]:
        """The fields the YAML file at ``path`` sets, normalised, not validated: a file
        combined with a preset, a model and flags (``resolve_config``) may be incomplete
        on its own (``flip_mode: alternate`` relies on a preset's ``flip: true``)."""
        from cnnlab.train.yaml_file import read_mapping

        values = read_mapping(Path(path))
        try:
            return cls._normalise(values)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def parse_assignments(items: list[str] | None, option: str = "--set",
                      what: str = "a TrainConfig field",
                      example: str = "'model_overrides={widths: [8, 16]}'") -> dict[str, Any]:
    """``["lr=0.05", "flip=false"]`` -> ``{"lr": 0.05, "flip": False}`` (the ``--set``
    flags, or another ``option`` of KEY=VALUE pairs: ``what`` the keys are, ``example``
    a quoted value with spaces, for the messages). Values are read as YAML scalars;
    names are checked when the config is built."""
    values: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} takes KEY=VALUE ({what}), got {item!r}")
        try:
            values[key.strip()] = yaml.safe_load(raw)  # numbers, booleans, null as such
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ConfigError(
                f"{item!r}: the value is not valid YAML ({problem}); a value with spaces "
                f"must reach cnnlab whole, quoted, e.g. {example}"
            ) from None
    return values
