"""Nested config merging with validation, shared by the vocoder and MAID packages.

A config is a mapping of keys to values; :func:`merge` lays a user's mapping over the defaults,
rejects any key the defaults do not have (a :class:`BaselineError` naming the config file and
the dotted key) and checks that each value has the default's type (ints are accepted where a
float is expected; a default of ``None`` accepts anything).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..interface import BaselineError


def _type_ok(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return True


def merge(
    defaults: Mapping[str, Any], given: Mapping[str, Any] | None, source: str, prefix: str = ""
) -> dict[str, Any]:
    """``defaults`` overlaid with ``given`` (deep copy); unknown keys or wrong types raise."""
    out = copy.deepcopy(dict(defaults))
    if given is None:
        return out
    if not isinstance(given, Mapping):
        where = prefix.rstrip(".") or "the config"
        raise BaselineError(f"{source}: {where} must be a mapping")
    for key, value in given.items():
        name = f"{prefix}{key}"
        if key not in defaults:
            raise BaselineError(f"{source}: unknown config key {name!r}")
        default = defaults[key]
        if isinstance(default, Mapping):
            out[key] = merge(default, value, source, f"{name}.")
        elif not _type_ok(default, value):
            raise BaselineError(
                f"{source}: config key {name!r} must be a {type(default).__name__}, got {value!r}"
            )
        else:
            out[key] = float(value) if isinstance(default, float) and value is not None else value
            if isinstance(value, tuple):
                out[key] = list(value)
    return out


def require(condition: bool, source: str, message: str) -> None:
    """Raise ``BaselineError(f"{source}: {message}")`` unless ``condition``."""
    if not condition:
        raise BaselineError(f"{source}: {message}")
