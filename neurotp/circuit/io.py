"""Circuits from and to plain data and YAML (safe loader only), and ``--set`` overrides."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from neurotp.circuit.spec import (
    Circuit,
    Compartment,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    Spiking,
    TargetTerm,
    Trace,
    WeightInit,
)


class CircuitFormatError(ValueError):
    """A circuit file or dict has a field that is missing, unknown or of the wrong type."""


class UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that repeats a key (PyYAML keeps the last one
    silently). Merge keys (``<<``) may still be overridden."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise CircuitFormatError(
                            f"{_source(key_node.start_mark)}line {line}: duplicate key {key!r} "
                            f"(first at line {seen[key]}); allowed: each key once per mapping"
                        )
                    seen[key] = line
                except TypeError:  # an unhashable key: PyYAML reports it below
                    continue
        return super().construct_mapping(node, deep=deep)


def _source(mark: Any) -> str:
    name = getattr(mark, "name", "")
    return f"{name}: " if name and not name.startswith("<") else ""


def yaml_load(stream: Any) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys (:class:`UniqueKeyLoader`)."""
    return yaml.load(stream, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _build(cls: type, data: Any, where: str, nested: dict[str, Any] | None = None) -> Any:
    if not isinstance(data, dict):
        raise CircuitFormatError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = _fields(cls)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise CircuitFormatError(
            f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(known)}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if nested and key in nested:
            kwargs[key] = nested[key](value, f"{where}.{key}")
        elif key in ("window", "bounds", "readout_window") and value is not None:
            if not (isinstance(value, (list, tuple)) and len(value) == 2):
                raise CircuitFormatError(f"{where}.{key}: expected [low, high], got {value!r}")
            # numbers become floats (one plain form for hashing); anything else is left for
            # validate's type check, which names the field
            kwargs[key] = tuple(
                float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                for v in value
            )
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [
            n
            for n, f in known.items()
            if n not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        ]
        raise CircuitFormatError(f"{where}: missing required field(s) {missing}") from exc


def _list(cls: type, nested: dict[str, Any] | None = None):
    def build(value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise CircuitFormatError(f"{where}: expected a list, got {type(value).__name__}")
        return [_build(cls, v, f"{where}[{i}]", nested) for i, v in enumerate(value)]

    return build


def _form(value: Any, where: str) -> RuleForm | None:
    if value is None:
        return None
    return _build(RuleForm, value, where, {"plus": _list(FormTerm)})


def circuit_from_dict(data: dict[str, Any]) -> Circuit:
    """Build a :class:`Circuit` from plain data, rejecting unknown or missing fields."""
    return _build(
        Circuit,
        data,
        "circuit",
        {
            "populations": _list(
                Population,
                {"apical": lambda v, w: None if v is None else _build(Compartment, v, w)},
            ),
            "projections": _list(Projection, {"init": lambda v, w: _build(WeightInit, v, w)}),
            "traces": _list(Trace),
            "rules": _list(Rule, {"targets": _list(TargetTerm), "form": _form}),
            "protocol": lambda v, w: _build(Protocol, v, w),
            "spiking": lambda v, w: _build(Spiking, v, w),
        },
    )


def load_circuit(
    path: str | os.PathLike, overrides: list[str] | None = None, *, check_data: bool = True
) -> Circuit:
    """Read a circuit YAML file (safe loader, duplicate keys refused), apply ``field=value``
    overrides, validate it.

    A circuit file runs on its ``protocol.dataset``, so by default it must also fit that data
    set (:func:`~neurotp.circuit.validate.check_dataset`: a label unit per class);
    ``check_data=False`` skips that for circuits meant for other data.
    """
    from neurotp.circuit.validate import check_dataset, validate

    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml_load(fh)
        except yaml.YAMLError as exc:
            raise CircuitFormatError(f"{path}: not a valid YAML file: {exc}") from exc
    if not isinstance(data, dict):
        raise CircuitFormatError(f"{path}: a circuit file must hold a mapping at the top")
    data = apply_overrides(data, overrides or [])
    circuit = circuit_from_dict(data)
    validate(circuit)
    if check_data:
        check_dataset(circuit)
    return circuit


def circuit_to_yaml(circuit: Circuit) -> str:
    return yaml.safe_dump(circuit.to_dict(), sort_keys=False, default_flow_style=None)


def circuit_hash(circuit: Circuit) -> str:
    """SHA-256 (hex) of the resolved circuit's plain data, keys sorted: two circuits with the
    same hash run the same simulation (seed included). Used to tie checkpoints and sweep rows
    to the circuit that made them."""
    text = json.dumps(circuit.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_circuit(circuit: Circuit, path: str | os.PathLike) -> None:
    Path(path).write_text(circuit_to_yaml(circuit), encoding="utf-8")


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides to circuit data (a copy is returned).

    List items are addressed by their ``name`` (``populations.H.noise=0.1``,
    ``rules.W1_pred.lr=0.05``) or by index; values are parsed as YAML scalars/lists.
    """
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise CircuitFormatError(f"--set {item!r}: expected field=value")
        path, raw = item.split("=", 1)
        try:
            value = yaml_load(raw)
        except yaml.YAMLError as exc:
            raise CircuitFormatError(f"--set {item!r}: the value is not valid YAML: {exc}") from exc
        keys = path.strip().split(".")
        node: Any = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            where = ".".join(keys[: depth + 1])
            if isinstance(node, list):
                match = [x for x in node if isinstance(x, dict) and x.get("name") == key]
                if match:
                    idx = node.index(match[0])
                elif key.isdigit() and int(key) < len(node):
                    idx = int(key)
                else:
                    names = [x.get("name") for x in node if isinstance(x, dict)]
                    raise CircuitFormatError(
                        f"--set {where}: no item named {key!r}; "
                        f"allowed: {', '.join(map(str, names))}"
                    )
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    if key not in node or node[key] is None:
                        node[key] = {}
                    node = node[key]
            else:
                raise CircuitFormatError(
                    f"--set {where}: cannot descend into a {type(node).__name__}"
                )
    return data
