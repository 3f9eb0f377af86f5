"""Type checks of a circuit's fields against their annotations (:func:`check_types`), the
first step of :func:`neurotp.circuit.validate.validate`: every wrong type or non-finite number
is named with its full path, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from neurotp.circuit.errors import CircuitError
from neurotp.circuit.spec import Circuit

# (dataclass, field) whose numbers may be +-inf; every other number must be finite.
INF_ALLOWED: frozenset[tuple[str, str]] = frozenset({("Rule", "bounds")})


def check_types(c: Circuit) -> None:
    """Check every field of ``c`` and its nested dataclasses against its annotation.

    int (not bool), float (an int is fine; finite unless listed in :data:`INF_ALLOWED`),
    bool (``True``/``False`` only: no strings, no ints), str, ``X | None``,
    ``tuple[float, float]`` (a tuple or list of two numbers), nested dataclasses and lists of
    them. The error names the field's full path (``populations[1] (H).tau``), the value and
    what is allowed.
    """
    if not isinstance(c, Circuit):
        raise CircuitError(f"circuit: expected a Circuit, got {type(c).__name__}")
    _check_dataclass(c, "")


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


_HINTS: dict[type, dict[str, Any]] = {}


def _label(obj: Any, where: str) -> str:
    name = getattr(obj, "name", None)
    return f"{where} ({name})" if isinstance(name, str) else where


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_dataclass(obj: Any, where: str) -> None:
    cls = type(obj)
    for f in dataclasses.fields(cls):
        inf = (cls.__name__, f.name) in INF_ALLOWED
        _check_value(getattr(obj, f.name), _hints(cls)[f.name], _join(where, f.name), inf)


def _is_optional(hint: Any) -> Any:
    """``X`` for ``X | None`` / ``Optional[X]``, else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def describe(hint: Any, inf: bool = False) -> str:
    """What a field of annotation ``hint`` allows, in words."""
    inner = _is_optional(hint)
    if inner is not None:
        return f"{describe(inner, inf)} or null"
    if hint is bool:
        return "true or false (unquoted)"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number (inf allowed)" if inf else "a finite number"
    if hint is str:
        return "a string"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        what = "numbers (inf allowed)" if inf else "finite numbers"
        return f"a list of {len(args)} {what}"
    if origin is list:
        return f"a list of {args[0].__name__} entries"
    if dataclasses.is_dataclass(hint):
        return f"a mapping of {hint.__name__} fields"
    raise TypeError(f"check_types: unsupported annotation {hint!r}")  # a spec.py change


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer" if abs(v) < 2**1000 else "an integer too large for a float"
    if isinstance(v, float):
        return "not finite" if not math.isfinite(v) else "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "a mapping"
    return f"a {type(v).__module__}.{type(v).__qualname__}"


def _wrong(v: Any, shown: Any, where: str, inf: bool) -> CircuitError:
    return CircuitError(f"{where}: {v!r} is {_kind(v)}; allowed: {describe(shown, inf)}")


def _number_ok(v: Any, inf: bool) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        x = float(v)  # a huge int overflows here
    except OverflowError:
        return False
    return not math.isnan(x) and (inf or math.isfinite(x))


def _check_value(v: Any, hint: Any, where: str, inf: bool, shown: Any = None) -> None:
    """Raise :class:`CircuitError` unless ``v`` fits ``hint``; messages describe ``shown``
    (the field's whole annotation, ``X | None`` included)."""
    shown = hint if shown is None else shown
    inner = _is_optional(hint)
    if inner is not None:
        if v is not None:
            _check_value(v, inner, where, inf, shown)
        return
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        ok = isinstance(v, bool)
    elif hint is int:
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif hint is float:
        ok = _number_ok(v, inf)
    elif hint is str:
        ok = isinstance(v, str)
    elif origin is tuple:
        ok = isinstance(v, (tuple, list)) and len(v) == len(args)
        if ok:
            for k, (item, sub) in enumerate(zip(v, args, strict=True)):
                if sub is not float:
                    raise TypeError(f"check_types: unsupported annotation {hint!r} at {where}")
                if not _number_ok(item, inf):
                    raise CircuitError(
                        f"{where}[{k}]: {item!r} is {_kind(item)}; allowed: {describe(shown, inf)}"
                    )
    elif origin is list:
        ok = isinstance(v, (list, tuple))
        if ok:
            (cls,) = args
            for k, item in enumerate(v):
                w = f"{where}[{k}]"
                if not isinstance(item, cls):
                    raise CircuitError(f"{w}: {item!r} is {_kind(item)}; allowed: a {cls.__name__}")
                _check_dataclass(item, _label(item, w))
    elif dataclasses.is_dataclass(hint):
        ok = isinstance(v, hint)
        if ok:
            _check_dataclass(v, where)
    else:
        raise TypeError(f"check_types: unsupported annotation {hint!r} at {where}")
    if not ok:
        raise _wrong(v, shown, where, inf)
