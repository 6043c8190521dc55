"""A YAML file of settings read as a mapping: a key given twice refused, and every way
the file can fail to be one (missing, a folder, not YAML, not text, unreadable) named,
with the fix where there is one. (What the keys may be is :class:`TrainConfig`'s.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cnnlab.train.config import ConfigError


def read_mapping(path: Path) -> dict[str, Any]:
    """The mapping ``path`` holds (``{}`` for an empty file), its keys as written."""
    try:
        values = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoDuplicateKeysLoader) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (IsADirectoryError, PermissionError) as exc:  # Windows: a folder is EACCES
        if not path.is_dir():
            raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        hint = f"; its config is {path / 'config.yaml'}" \
            if (path / "config.yaml").exists() else ""
        raise ConfigError(f"{path} is a folder, not a YAML config file{hint}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc.reason} at byte "
                          f"{exc.start})") from None
    except OSError as exc:  # no permission, an I/O error
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of field: value")
    if _too_many_values(values):
        raise ConfigError(f"{path}: holds more than {MOST_VALUES:,} values once its aliases "
                          "(*name) are expanded, or an alias inside itself; write the values "
                          "out (a settings file needs no aliases)")
    return values


# Values a settings file may hold, counted as written out. YAML's aliases repeat a value
# without copying it: nine lines of nine aliases each stand for 9^9 strings, which the
# first message or save that prints the value expanded (a MemoryError, after gigabytes).
MOST_VALUES = 100_000


def _too_many_values(values: Any, most: int = MOST_VALUES) -> bool:
    """Whether ``values`` holds more than ``most`` values, each alias counted as the
    value it repeats (a value holding itself: endlessly); stops counting at ``most``."""
    stack, seen = [values], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > most:
            return True
        if isinstance(value, dict):
            stack += [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple)):
            stack += value
    return False


class _NoDuplicateKeysLoader(yaml.SafeLoader):
    """safe_load, except that a key given twice is an error: plain YAML keeps the last
    one silently, and `epochs: 1` ... `epochs: 20` in one file is a mistake."""

    def construct_mapping(self, node, deep=False):
        # The mapping's own plain keys, as written (before `<<:` merges bring theirs in,
        # which its own keys may override); other kinds of key are left to YAML.
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key_node.value!r} is set twice (keep one)",
                    key_node.start_mark)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep)
