"""What each annotation of a TrainConfig field accepts (``lr: float``, ``resize: int |
None``), for TrainConfig's type check and its YAML reading (config.py), and the forms
its fields are kept in (:func:`keep_given_forms`)."""

from __future__ import annotations

import os
from typing import Any, TypeAlias

# A path field's annotation (data_root, out_dir, weights): a Path is taken, as text is,
# and kept as text (TrainConfig.__post_init__), so only text reaches the type check;
# annotated `str`, a Path was a type error to pyright and mypy.
PathText: TypeAlias = str | os.PathLike[str]

# What each annotation of a TrainConfig field accepts, in words for the error message.
KIND_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false",
              "str": "text (quote it if YAML reads it as something else)",
              "None": "null", "dict[str, Any]": "a mapping {key: value, ...}"}
KIND_WORDS["PathText"] = KIND_WORDS["str"]


def as_number(value: Any) -> Any:
    """``"5e-4"`` -> 5e-4; anything else as it is (a wrong type is named by validate)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def has_kind(value: Any, kind: str) -> bool:
    """Whether ``value`` is of ``kind``, one part of an annotation ("int", "None", ...)."""
    if isinstance(value, bool):  # a bool is an int to Python, never a number here
        return kind == "bool"
    return {"float": isinstance(value, (int, float)), "int": isinstance(value, int),
            "str": isinstance(value, str), "PathText": isinstance(value, str),
            "None": value is None,
            "dict[str, Any]": isinstance(value, dict)}.get(kind, False)


def keep_given_forms(cfg) -> None:
    """A TrainConfig's fields in the forms it keeps them in, whatever it was given: a path
    field (data_root, out_dir, weights) as text, a Path (Python's, typer 0.16's Path
    options) too; the dataset's name as cnnlab spells it (``dataset_spelling``): a config
    file's "Folder:PATH", which parse_spec takes in any case, trained as another dataset
    where the code asks whether the data is a folder ("folder:")."""
    for name in ("data_root", "out_dir", "weights"):
        if hasattr(getattr(cfg, name), "__fspath__"):
            setattr(cfg, name, getattr(cfg, name).__fspath__())
    if isinstance(cfg.data, str) and cfg.data.strip():
        from cnnlab.dataset_names import dataset_spelling  # torch-free: compare reads configs

        cfg.data = dataset_spelling(cfg.data)
