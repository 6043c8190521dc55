"""Presets and how a run's config is put together.

``preset_values`` gives the fields a preset (``book``: the book's recipe for that
network; ``fast``: cnnlab's modern one) sets for a model; ``resolve_config`` layers
defaults < preset < config file < explicit overrides, and validates the result once.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from cnnlab.train.config import PRESETS, ConfigError, TrainConfig, is_no_preset
from cnnlab.train.run_files import absolute_data_paths


def preset_values(preset: str, model: str) -> dict[str, Any]:
    """The fields a preset sets for ``model``, ``applied_preset`` among them (a config
    built from them holds the preset's values, so train() takes its ``preset``).

    ``book``: Dive into Deep Learning's recipe for that model (its registry entry):
    plain SGD, batch 128, 10 epochs, its lr and resize, no augmentation, no
    normalisation, fp32. ``fast``: the modern recipe: SGD with Nesterov momentum, a
    one-cycle schedule, label smoothing, weight decay off for norm and bias,
    translation + flip augmentation, a weight EMA, bf16 and channels_last on GPU. Two
    measured adaptations: a network without normalisation layers trains at lr 0.01,
    and a registry entry's ``fast_overrides`` apply last (the book's small LeNets
    train without translation, at lr 0.2).
    """
    if preset == "book":
        from cnnlab.models import model_info

        recipe = model_info(model).book_recipe
        if recipe is None:
            raise ConfigError(
                f"preset 'book': the book does not train {model!r}; models it trains: "
                + ", ".join(_book_models())
            )
        return dict(
            preset="book", applied_preset="book",
            optimizer="sgd", momentum=0.0, weight_decay=0.0, schedule="constant",
            lr=recipe.lr, batch_size=recipe.batch_size, epochs=recipe.epochs,
            resize=recipe.resize, crop_padding=0, flip=False, erase_prob=0.0, normalize=False,
            label_smoothing=0.0, ema_decay=0.0, amp="off", channels_last=None,
        )
    if preset == "fast":
        values = dict(
            preset="fast", applied_preset="fast",
            optimizer="nesterov", momentum=0.9, weight_decay=5e-4,
            schedule="onecycle", warmup_epochs=0.3, lr=0.1, batch_size=256, epochs=10,
            crop_padding=2, flip=True, normalize=True, label_smoothing=0.1, ema_decay=0.999,
            amp="auto", channels_last=None,
        )
        values.update(_fast_overrides(model))
        return values
    raise ConfigError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}, or none "
                      "(the defaults)")


# The fast preset's lr (0.1 with Nesterov momentum) presumes normalisation layers. On an
# H100 it killed every book network without them at 10 epochs: AlexNet's loss went NaN
# at step 100; NiN, VGG and GoogLeNet sat at chance from epoch 1 (BENCHMARKS.md).
# 0.01 with momentum 0.9 is what AlexNet, VGG and GoogLeNet were trained with.
UNNORMALISED_FAST_LR = 0.01


def _fast_overrides(model: str) -> dict[str, Any]:
    """What the fast preset changes for ``model``: a lower lr for a network without
    normalisation layers, then the registry entry's own ``fast_overrides`` (measured).
    Names outside the registry get none (unknown ones fail later, with a did-you-mean)."""
    from cnnlab.models import model_info
    from cnnlab.models._registry import UnknownModelError

    try:
        info = model_info(model)
    except UnknownModelError:
        return {}
    values: dict[str, Any] = {}
    if not _has_normalisation(model):
        values["lr"] = UNNORMALISED_FAST_LR
    values.update(info.fast_overrides)
    return values


@functools.cache
def _has_normalisation(model: str) -> bool:
    """Whether the registered network has any batch/group/layer norm (built on the meta
    device where it can be: no memory, no initialisation cost)."""
    from torch import nn

    from cnnlab.models._registry import model_on_meta
    from cnnlab.ops.norm import BatchNorm

    norms = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, BatchNorm)
    net = model_on_meta(model)
    return any(isinstance(m, norms) for m in net.modules())


def _book_models() -> list[str]:
    from cnnlab.models import list_models, model_info

    return [n for n in list_models() if model_info(n).book_recipe is not None]


def resolve_config(
    model: str,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """The TrainConfig of ``model``, validated, each field from the last of: TrainConfig's
    defaults < preset < config file < explicit overrides (``None`` values ignored).

    ``model`` and ``preset`` are the caller's explicit choices (the command line's MODEL
    and --preset), so they beat a ``model:`` or ``preset:`` in the file; the file's
    other fields still beat the preset's. A preset ``none`` (any case) is no preset,
    stored as null, and beats a file's. The data's paths (``folder:PATH``, ``data_root``)
    come back absolute, as the run will store them. ``config_file``: a YAML file of
    TrainConfig fields (``cnnlab train --config``; a run's config.yaml is one);
    ``overrides``: field -> value, as ``cnnlab train``'s options give them."""
    values: dict[str, Any] = {}
    file_values: dict[str, Any] = {}
    if config_file is not None:
        # Only what the file sets, validated once everything is merged below.
        file_values = TrainConfig.read_file(config_file)
    # The first one given, blank text included: `--preset ''` trained with no preset, and
    # MODEL '' took the file's model (or was named "None"), where both are mistakes.
    preset = _first_given((overrides or {}).get("preset"), preset, file_values.get("preset"))
    preset = None if is_no_preset(preset) else preset
    model = _first_given((overrides or {}).get("model"), model, file_values.get("model"))
    if isinstance(model, str):
        from cnnlab.models import model_info

        if not model.strip():
            raise ConfigError(f"model {model!r}: give a model's name, e.g. lenet_modern "
                              "(`cnnlab models` lists them)")
        model_info(model)  # an unknown name: refused now, with the closest names
    if preset is not None:
        values.update(preset_values(preset, model))
    values.update(file_values)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    values.update(model=model, preset=preset)
    return absolute_data_paths(TrainConfig.from_dict(values).check_new_run())


def _first_given(*values: Any) -> Any:
    """The first of ``values`` that is not None (None: none given)."""
    return next((v for v in values if v is not None), None)


def check_preset(cfg: TrainConfig) -> None:
    """Refuse a config that names a preset whose values it does not hold: the constructor
    only records ``preset``, so ``TrainConfig(preset="fast")`` would train with the
    plain defaults under the preset's name (in config.yaml and summary.json too)."""
    if cfg.preset is None or cfg.preset == cfg.applied_preset:
        return
    defaults = TrainConfig().to_dict()
    given = {k: v for k, v in cfg.to_dict().items()
             if v != defaults[k] and k not in ("model", "preset")}
    raise ConfigError(
        f"preset={cfg.preset!r} is only named in this config: TrainConfig(...) does not "
        "apply a preset's settings, so the run would train with the plain defaults under "
        f"the preset's name. Build it with resolve_config({cfg.model!r}, "
        f"preset={cfg.preset!r}, overrides={given!r}) (from cnnlab.train), which applies "
        "the preset, then your settings over it")


def set_by_preset(cfg: TrainConfig, key: str) -> bool:
    """Whether ``cfg``'s ``key`` is what its preset set (the fast preset's EMA decay of
    0.999 is warm-up-bound in a 10-epoch run by design: no warning every run)."""
    preset = cfg.applied_preset
    return preset is not None and preset_values(preset, cfg.model).get(key) == getattr(cfg, key)
