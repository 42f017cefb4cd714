"""One way to read a method's config: a user's mapping laid over the method's defaults, checked.

:func:`merge_config` is used by A2SB's :class:`~a2sb.training.config.TrainConfig` and by every
learned baseline. Rules: a key the defaults do not have is an error naming the config file
(``source``) and the dotted key; a value must have its default's type (an int stands for a
float, a numeric string too, as YAML 1.1 reads ``1e-3``; a list for a list); ``None`` only where
the default is ``None`` or the key is declared ``nullable``; a nested mapping is merged key by
key unless the key is declared ``opaque`` (taken whole, checked later by its own type);
``choices`` restricts a key to listed values. The result is a deep copy: the defaults are never
changed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Collection, Mapping
from typing import Any

from .errors import InputError


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, list | tuple):
        return "a list"
    return type(default).__name__


def _coerce(default: Any, value: Any) -> tuple[bool, Any]:
    """``(ok, value converted to the default's type)``."""
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(default, float):
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int | float):
            return math.isfinite(float(value)), float(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return False, value
            return math.isfinite(number), number
        return False, value
    if isinstance(default, str):
        return isinstance(value, str), value
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple), list(value) if isinstance(value, tuple) else value
    return True, value


def merge_config(
    defaults: Mapping[str, Any],
    given: Mapping[str, Any] | None,
    source: str,
    *,
    opaque: Collection[str] = (),
    nullable: Collection[str] = (),
    choices: Mapping[str, Collection[Any]] | None = None,
    error: type[Exception] = InputError,
    _prefix: str = "",
) -> dict[str, Any]:
    """``defaults`` overlaid with ``given`` (see the module docstring); ``error(message)`` on a
    bad key or value. Dotted names (``train.lr``) select nested keys in ``opaque``,
    ``nullable`` and ``choices``."""
    out = copy.deepcopy(dict(defaults))
    if given is None:
        return out
    if not isinstance(given, Mapping):
        where = _prefix.rstrip(".") or "the config"
        raise error(f"{source}: {where} must be a mapping, got {given!r}")
    choices = choices or {}
    for key, value in given.items():
        name = f"{_prefix}{key}"
        if key not in defaults:
            known = ", ".join(sorted(map(str, defaults)))
            raise error(f"{source}: unknown key {name!r} (known: {known})")
        default = defaults[key]
        if name in opaque:
            out[key] = copy.deepcopy(value)
        elif isinstance(default, Mapping):
            out[key] = merge_config(default, value, source, opaque=opaque, nullable=nullable,
                                    choices=choices, error=error, _prefix=f"{name}.")  # fmt: skip
        elif value is None:
            if default is not None and name not in nullable:
                raise error(f"{source}: {name} must be {_kind(default)}, got null")
            out[key] = None
        elif default is None:
            out[key] = copy.deepcopy(value)
        else:
            ok, converted = _coerce(default, value)
            if not ok:
                raise error(f"{source}: {name} must be {_kind(default)}, got {value!r}")
            out[key] = copy.deepcopy(converted)
        allowed = choices.get(name)
        if allowed is not None and out[key] not in allowed:
            raise error(f"{source}: {name} must be one of {sorted(allowed)}, got {out[key]!r}")
    return out


def require(
    condition: bool, source: str, message: str, error: type[Exception] = InputError
) -> None:
    """Raise ``error(f"{source}: {message}")`` unless ``condition``."""
    if not condition:
        raise error(f"{source}: {message}")
