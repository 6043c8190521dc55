"""What each annotation of a TrainConfig field accepts (``lr: float``, ``resize: int |
None``), for TrainConfig's type check and its YAML reading (config.py)."""

from __future__ import annotations

from typing import Any

# What each annotation of a TrainConfig field accepts, in words for the error message.
KIND_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false",
              "str": "text (quote it if YAML reads it as something else)",
              "None": "null", "dict[str, Any]": "a mapping {key: value, ...}"}


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
            "str": isinstance(value, str), "None": value is None,
            "dict[str, Any]": isinstance(value, dict)}.get(kind, False)
