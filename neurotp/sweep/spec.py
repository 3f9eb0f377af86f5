"""What a sweep is: a circuit (or a ``neurotp train`` config), a grid and/or a list of points,
seeds, the options every point runs with, and an output folder.

A spec is a YAML file (``sweeps/digits_tp_grid.yaml``) or the short form on the command line
(``neurotp sweep CIRCUIT --grid protocol.input_noise=0.1,0.2 --seeds 0-4``); both give a
:class:`SweepSpec`. Field paths are those of ``neurotp run --set`` (for a circuit) or the keys
of :data:`neurotp.train.DEFAULTS`, dotted into ``hyper`` (for a train config). Relative paths
in a spec are relative to the directory ``neurotp sweep`` runs in, as on the command line.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurotp.engines.registry import BACKENDS

SPEC_KEYS = (
    "circuit",
    "train",
    "grid",
    "points",
    "seeds",
    "set",
    "out",
    "metric",
    "epochs",
    "backend",
    "dtype",
    "block_steps",
    "spiking",
    "brian2_target",
)
#: ``neurotp run`` options a spec (or the short form) applies to every point of a circuit sweep
RUN_OPTIONS = ("epochs", "backend", "dtype", "block_steps", "spiking", "brian2_target")
#: columns of a results row besides the swept parameters
ROW_COLUMNS = (
    "seed",
    "status",
    "error",
    "test_accuracy",
    "test_reconstruction_mse",
    "best_test_accuracy",
    "train_loss",
    "epochs",
    "train_seconds",
    "wall_seconds",
    "host",
    "worker",
    "neurotp_version",
    "hash",
    "run_options",
    "overrides",
    "folder",
    "finished",
)
DTYPES = ("float64", "float32")


class SweepSpecError(ValueError):
    """A spec or short-form argument that cannot describe a sweep; the message names the field
    and what is allowed."""


@dataclass
class SweepSpec:
    """A resolved sweep: ``kind`` is ``"circuit"`` or ``"train"``; ``source`` the circuit file
    or train config; ``points`` the parameter sets (``{path: value}``, the grid's product then
    the listed points); ``fixed`` the ``--set`` overrides of every point; ``options`` the run
    options (:data:`RUN_OPTIONS`) of every point."""

    kind: str
    source: str
    points: list[dict[str, Any]]
    seeds: list[int]
    out: str
    fixed: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    metric: str | None = None

    @property
    def params(self) -> list[str]:
        """The swept field paths, in order of first appearance."""
        seen: dict[str, None] = {}
        for p in self.points:
            seen.update(dict.fromkeys(p))
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            self.kind: self.source,
            "points": self.points,
            "seeds": self.seeds,
            "set": self.fixed,
            **self.options,
            "metric": self.metric,
            "out": self.out,
        }


def normalize_value(value: Any) -> Any:
    """Numbers written as text (YAML 1.1 reads ``1e-3`` as a string) become floats."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [normalize_value(v) for v in value]
    return value


def yaml_text(value: Any) -> str:
    """``value`` as the text of a ``--set`` value: ``yaml.safe_load`` of it gives ``value``
    back (floats keep every digit; ``1e-05`` becomes ``1.0e-05``, which YAML 1.1 reads as a
    float)."""
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text:
            mant, exp = text.split("e")
            if "." not in mant:
                mant += ".0"
            if exp[0] not in "+-":
                exp = "+" + exp
            text = f"{mant}e{exp}"
        return text
    if isinstance(value, list):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def parse_seeds(value: Any) -> list[int]:
    """``[0, 1, 2]``, ``"0-4"``, ``"0,3,7"`` or ``3`` (one seed) -> a list of ints."""
    if isinstance(value, bool):
        raise SweepSpecError(f"seeds: {value!r} is not a seed; allowed: ints, 'A-B', 'A,B,C'")
    if isinstance(value, int):
        return [value]
    items: list[Any]
    if isinstance(value, str):
        items = []
        for part in value.replace(" ", "").split(","):
            lo, sep, hi = part.partition("-")
            if sep and lo.isdigit() and hi.isdigit():
                if int(hi) < int(lo):
                    raise SweepSpecError(f"seeds: range {part!r} is empty; write LOW-HIGH")
                items.extend(range(int(lo), int(hi) + 1))
            else:
                items.append(part)
    elif isinstance(value, list):
        items = value
    else:
        raise SweepSpecError(f"seeds: {value!r}; allowed: a list of ints, 'A-B' or 'A,B,C'")
    out: list[int] = []
    for v in items:
        try:
            seed = int(v)
        except (TypeError, ValueError):
            raise SweepSpecError(
                f"seeds: {v!r} is not an int; allowed: a list of ints, 'A-B' or 'A,B,C'"
            ) from None
        if seed < 0 or isinstance(v, (bool, float)):
            raise SweepSpecError(f"seeds: {v!r}; a seed is a non-negative int")
        if seed not in out:
            out.append(seed)
    if not out:
        raise SweepSpecError("seeds: no seed given")
    return out


def parse_assignment(text: str, flag: str) -> tuple[str, str]:
    if "=" not in text:
        raise SweepSpecError(f"{flag} {text!r}: expected FIELD=VALUE")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path:
        raise SweepSpecError(f"{flag} {text!r}: the field is empty")
    return path, raw


def parse_grid_arg(text: str) -> tuple[str, list[Any]]:
    """``protocol.input_noise=0.1,0.15`` -> ``("protocol.input_noise", [0.1, 0.15])``; a value
    may be a YAML list (``window=[30, 40],[20, 40]``)."""
    path, raw = parse_assignment(text, "--grid")
    try:
        values = yaml.safe_load(f"[{raw}]")
    except yaml.YAMLError as exc:
        raise SweepSpecError(f"--grid {path}: cannot read the values {raw!r}: {exc}") from None
    if not values or any(v is None for v in values):
        raise SweepSpecError(f"--grid {path}: give values separated by commas, e.g. {path}=1,2")
    return path, normalize_value(values)


def expand_points(grid: dict[str, list[Any]], points: list[dict[str, Any]]) -> list[dict]:
    """The grid's Cartesian product (first axis slowest), then the listed points; one empty
    point (the circuit as it is) when neither is given. Duplicates are dropped."""
    out: list[dict[str, Any]] = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            out.append(dict(zip(keys, combo, strict=True)))
    out.extend(dict(p) for p in points)
    if not out:
        out = [{}]
    unique: list[dict[str, Any]] = []
    for p in out:
        if p not in unique:
            unique.append(p)
    return unique


def detect_kind(path: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """``("spec" | "circuit" | "train", data)`` of a YAML file, from its keys."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise SweepSpecError(f"{path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SweepSpecError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepSpecError(f"{path}: expected a mapping (a sweep spec, circuit or config)")
    if "populations" in data:
        return "circuit", data
    if "circuit" in data or "train" in data:
        return "spec", data
    from neurotp.train import DEFAULTS

    if set(data) <= set(DEFAULTS):
        return "train", data
    raise SweepSpecError(
        f"{path}: neither a sweep spec (a 'circuit' or 'train' key), a circuit (a "
        f"'populations' key) nor a train config (keys of neurotp.train.DEFAULTS)"
    )


def check_options(options: dict[str, Any], kind: str) -> dict[str, Any]:
    """Validate the run options; names the bad one and the allowed values."""
    opts = {k: v for k, v in options.items() if v is not None}
    if kind == "train":
        extra = sorted(set(opts) - {"epochs"})
        if extra:
            raise SweepSpecError(
                f"{', '.join(extra)}: options of `neurotp run`, not of a train config; a "
                f"train sweep allows epochs (and config keys in grid/points/set)"
            )
    epochs = opts.get("epochs")
    if epochs is not None and (
        not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1
    ):
        raise SweepSpecError(f"epochs: must be a positive int, got {epochs!r}")
    for key, allowed in (
        ("backend", BACKENDS),
        ("dtype", DTYPES),
        ("spiking", ("lif", "poisson")),
        ("brian2_target", ("numpy", "cython", "cpp_standalone")),
    ):
        if key in opts and opts[key] not in allowed:
            raise SweepSpecError(f"{key}: {opts[key]!r}; allowed: {', '.join(allowed)}")
    bs = opts.get("block_steps")
    if bs is not None and bs != "delay" and not (isinstance(bs, int) and bs >= 1):
        raise SweepSpecError(f"block_steps: {bs!r}; allowed: 'delay' or a positive int")
    return opts


def _fixed_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k}={yaml_text(normalize_value(v))}" for k, v in value.items()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        for v in value:
            parse_assignment(v, "set:")
        return list(value)
    raise SweepSpecError("set: a mapping {field: value} or a list of 'field=value' strings")


def spec_from_dict(data: dict[str, Any], where: str = "spec") -> SweepSpec:
    """Build a :class:`SweepSpec` from a spec mapping (the YAML file's content)."""
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise SweepSpecError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(SPEC_KEYS)}")
    if ("circuit" in data) == ("train" in data):
        raise SweepSpecError(f"{where}: give exactly one of 'circuit' (a circuit file) or 'train'")
    kind = "circuit" if "circuit" in data else "train"
    source = data[kind]
    if not isinstance(source, str) or not Path(source).is_file():
        raise SweepSpecError(f"{where}: {kind}: {source!r} is not a file")
    grid = data.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepSpecError(f"{where}: grid: a mapping {{field: [values]}}")
    grid = {str(k): normalize_value(v if isinstance(v, list) else [v]) for k, v in grid.items()}
    for k, v in grid.items():
        if not v:
            raise SweepSpecError(f"{where}: grid: {k} has no values")
    points = data.get("points") or []
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise SweepSpecError(f"{where}: points: a list of mappings {{field: value}}")
    points = [{str(k): normalize_value(v) for k, v in p.items()} for p in points]
    for name in [*grid, *(k for p in points for k in p)]:
        if name in ROW_COLUMNS:
            hint = "; seeds go in 'seeds'" if name == "seed" else ""
            raise SweepSpecError(
                f"{where}: {name!r} cannot be swept (a column of the results table){hint}"
            )
    options = check_options({k: data.get(k) for k in RUN_OPTIONS}, kind)
    default_out = Path("runs") / "sweeps" / Path(source).stem
    return SweepSpec(
        kind=kind,
        source=source,
        points=expand_points(grid, points),
        seeds=parse_seeds(data.get("seeds", [0])),
        out=str(data.get("out") or default_out),
        fixed=_fixed_list(data.get("set")),
        options=options,
        metric=data.get("metric"),
    )


def load_spec(path: str | os.PathLike) -> SweepSpec:
    kind, data = detect_kind(path)
    if kind != "spec":
        raise SweepSpecError(f"{path}: a {kind} file, not a sweep spec")
    return spec_from_dict(data, where=str(path))


def build_spec(
    target: str | os.PathLike,
    *,
    grid: list[str] | None = None,
    sets: list[str] | None = None,
    seeds: str | None = None,
    out: str | None = None,
    metric: str | None = None,
    options: dict[str, Any] | None = None,
) -> SweepSpec:
    """The spec of ``neurotp sweep TARGET ...``: ``target`` is a sweep spec, a circuit file or
    a train config; ``--grid`` axes are added to (or replace those of) the spec's grid,
    ``--set`` overrides are appended, the other options replace the spec's."""
    kind, data = detect_kind(target)
    data = dict(data) if kind == "spec" else {kind: str(target)}
    axes = dict(data.get("grid") or {})
    for text in grid or []:
        path, values = parse_grid_arg(text)
        axes[path] = values
    if axes:
        data["grid"] = axes
    if sets:
        for text in sets:
            parse_assignment(text, "--set")
        data["set"] = _fixed_list(data.get("set")) + list(sets)
    if seeds is not None:
        data["seeds"] = seeds
    if out is not None:
        data["out"] = out
    if metric is not None:
        data["metric"] = metric
    for key, value in (options or {}).items():
        if value is not None:
            data[key] = value
    return spec_from_dict(data, where=str(target))
