"""Validation: every error names the field and what is allowed."""

from __future__ import annotations

import math

from neurotp.circuit.activations import ACTIVATIONS
from neurotp.circuit.errors import CircuitError
from neurotp.circuit.rules import RULE_KINDS, check_rule
from neurotp.circuit.spec import (
    COMPARTMENT_SUFFIX,
    INIT_KINDS,
    MODELS,
    ROLES,
    Circuit,
    Population,
)
from neurotp.circuit.typecheck import check_types

__all__ = ["RULE_KINDS", "CircuitError", "check_types", "delay_steps", "validate"]

# Classes per data set (``protocol.dataset``), read here so that the circuit package never
# imports :mod:`neurotp.data` (which takes its own count from this table).
DATASET_CLASSES: dict[str, int] = {"digits": 10, "fashion-mnist": 10, "mnist": 10}


def delay_steps(delay: float, dt: float, where: str) -> int:
    """Delay in whole steps of dt; rejects negative delays and non-multiples of dt."""
    if delay < 0:
        raise CircuitError(
            f"{where}: delay {delay} ms is negative; "
            f"allowed: 0 or a positive multiple of dt={dt} ms"
        )
    steps = delay / dt
    if not math.isfinite(steps):
        raise CircuitError(f"{where}: {delay} ms is too many steps of dt={dt} ms to count")
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise CircuitError(
            f"{where}: delay {delay} ms is not a multiple of dt={dt} ms; "
            "allowed: k*dt for integer k >= 0"
        )
    return int(round(steps))


def _unique(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise CircuitError(f"{where}: duplicate name {n!r}")
        seen.add(n)


def validate(c: Circuit) -> Circuit:
    """Check a circuit; return it unchanged or raise :class:`CircuitError`.

    First every field's type and finiteness (:func:`check_types`), then what the values mean.
    """
    check_types(c)
    proto = c.protocol
    dt = proto.dt
    if not dt > 0:
        raise CircuitError(f"protocol.dt: {dt} is not a positive number of ms; allowed: dt > 0")
    if c.seed < 0:
        raise CircuitError(f"seed: {c.seed} is negative; allowed: an integer >= 0")
    for key in ("max_rate", "tau_syn", "tau_m"):
        v = getattr(c.spiking, key)
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            unit = "Hz" if key == "max_rate" else "ms"
            raise CircuitError(f"spiking.{key}: {v!r} is not a positive number of {unit}")
    pops = {p.name: p for p in c.groups()}  # populations and compartments (NAME.apical)
    _unique([p.name for p in c.populations], "populations")
    for i, p in enumerate(c.populations):
        if COMPARTMENT_SUFFIX in p.name:
            raise CircuitError(
                f"populations[{i}].name: {p.name!r} contains {COMPARTMENT_SUFFIX!r}, which names "
                "a population's compartment; allowed: a name without it"
            )
    _unique([p.name for p in c.projections], "projections")
    _unique([t.name for t in c.traces], "traces")
    _unique([r.name for r in c.rules], "rules")
    allowed_pops = ", ".join(pops)

    def need_pop(name: str | None, where: str) -> None:
        if name not in pops:
            raise CircuitError(f"{where}: unknown population {name!r}; allowed: {allowed_pops}")

    for i, p in enumerate(c.populations):
        w = f"populations[{i}] ({p.name})"
        if not (isinstance(p.size, int) and p.size > 0):
            raise CircuitError(f"{w}.size: {p.size!r} is not a positive integer")
        if p.activation not in ACTIVATIONS:
            raise CircuitError(
                f"{w}.activation: unknown activation {p.activation!r}; "
                f"allowed: {', '.join(ACTIVATIONS)}"
            )
        if p.role not in ROLES:
            raise CircuitError(f"{w}.role: unknown role {p.role!r}; allowed: {', '.join(ROLES)}")
        if p.model not in MODELS:
            raise CircuitError(
                f"{w}.model: unknown model {p.model!r}; allowed: {', '.join(MODELS)}"
            )
        if not p.tau > 0:
            raise CircuitError(f"{w}.tau: {p.tau} ms must be > 0")
        if dt > p.tau:
            raise CircuitError(
                f"{w}.tau: dt={dt} ms is too large for tau={p.tau} ms (Euler needs dt <= tau); "
                f"allowed: dt <= {p.tau} ms"
            )
        if p.noise < 0:
            raise CircuitError(f"{w}.noise: {p.noise} must be >= 0")
        if p.apical is not None:
            _check_compartment(c, p, f"{w}.apical")

    projs = {p.name: p for p in c.projections}
    for i, pr in enumerate(c.projections):
        w = f"projections[{i}] ({pr.name})"
        need_pop(pr.pre, f"{w}.pre")
        need_pop(pr.post, f"{w}.post")
        if pops[pr.post].role == "input":
            raise CircuitError(
                f"{w}.post: {pr.post!r} is an input population; inputs receive no projections"
            )
        delay_steps(pr.delay, dt, f"{w}.delay")
        if pr.tie is not None:
            if pr.tie not in projs:
                raise CircuitError(
                    f"{w}.tie: unknown projection {pr.tie!r}; allowed: {', '.join(projs)}"
                )
            owner = projs[pr.tie]
            if owner.tie is not None:
                raise CircuitError(
                    f"{w}.tie: {pr.tie!r} is itself tied; tie to the owner {owner.tie!r}"
                )
            shape = (pops[pr.post].size, pops[pr.pre].size)
            oshape = (pops[owner.post].size, pops[owner.pre].size)
            if shape != oshape:
                raise CircuitError(
                    f"{w}.tie: size mismatch, this projection is {shape[0]}x{shape[1]} but "
                    f"{pr.tie!r} is {oshape[0]}x{oshape[1]}"
                )
        else:
            if pr.init.kind not in INIT_KINDS:
                raise CircuitError(
                    f"{w}.init.kind: unknown kind {pr.init.kind!r}; "
                    f"allowed: {', '.join(INIT_KINDS)}"
                )
            if pr.init.kind == "identity" and pops[pr.pre].size != pops[pr.post].size:
                raise CircuitError(
                    f"{w}.init: size mismatch, identity needs pre and post of equal size "
                    f"({pr.pre}={pops[pr.pre].size}, {pr.post}={pops[pr.post].size})"
                )
    _check_zero_delay_loops(c)

    for i, t in enumerate(c.traces):
        w = f"traces[{i}] ({t.name})"
        need_pop(t.population, f"{w}.population")
        delay_steps(t.delay, dt, f"{w}.delay")
        if not t.tau > 0:
            raise CircuitError(f"{w}.tau: {t.tau} ms must be > 0")
        if dt > t.tau:
            raise CircuitError(
                f"{w}.tau: dt={dt} ms is too large for tau={t.tau} ms; allowed: dt <= {t.tau} ms"
            )
    for i, r in enumerate(c.rules):
        w = f"rules[{i}] ({r.name})"
        if r.projection not in projs:
            raise CircuitError(
                f"{w}.projection: unknown projection {r.projection!r}; allowed: {', '.join(projs)}"
            )
        pr = projs[r.projection]
        if r.window is not None and not (0 <= r.window[0] < r.window[1]):
            raise CircuitError(f"{w}.window: {list(r.window)} must satisfy 0 <= start < end (ms)")
        if r.bounds is not None and not (r.bounds[0] < r.bounds[1]):
            raise CircuitError(f"{w}.bounds: {list(r.bounds)} must satisfy low < high")
        check_rule(c, r, w, CircuitError)
        if r.bias:
            # a tie shares weights, not biases: a bias learned on one post population would be
            # missing from the other, and their difference (e.g. G - S) would be offset
            owner = pr.tie or pr.name
            sharers = {q.post for q in c.projections if (q.tie or q.name) == owner}
            if len(sharers) > 1:
                raise CircuitError(
                    f"{w}.bias: projection {pr.name!r} shares its weights (tie) with projections "
                    f"onto {sorted(sharers - {pr.post})}, which would not share the learned bias "
                    f"of {pr.post!r}; allowed: bias: false on rules of tied weights"
                )

    if proto.present <= 0:
        raise CircuitError(f"protocol.present: {proto.present} ms must be > 0")
    for key in ("present", "gap"):
        delay_steps(getattr(proto, key), dt, f"protocol.{key}")
    if not 0 < proto.lr_decay <= 1:
        raise CircuitError(f"protocol.lr_decay: {proto.lr_decay} must lie in (0, 1]")
    if not 0 <= proto.validation < 1:
        raise CircuitError(
            f"protocol.validation: {proto.validation} must lie in [0, 1) "
            "(the fraction of the training set held out)"
        )
    if proto.input_noise < 0:
        raise CircuitError(
            f"protocol.input_noise: {proto.input_noise} is negative; allowed: a number >= 0"
        )
    for key in ("epochs", "n_train", "n_test", "batch"):
        v = getattr(proto, key)
        if v is not None and v < 1:
            extra = "" if key == "epochs" else " or null (all examples)"
            raise CircuitError(f"protocol.{key}: {v} must be >= 1; allowed: an integer >= 1{extra}")
    _check_windows(c)
    _check_timing(c)
    need_pop(proto.input, "protocol.input")
    if pops[proto.input].role != "input":
        raise CircuitError(f"protocol.input: population {proto.input!r} must have role 'input'")
    for key in ("label", "readout", "reconstruction"):
        name = getattr(proto, key)
        if name is not None:
            need_pop(name, f"protocol.{key}")
    if proto.label is not None and pops[proto.label].role != "label":
        raise CircuitError(f"protocol.label: population {proto.label!r} must have role 'label'")
    if (
        proto.reconstruction is not None
        and pops[proto.reconstruction].size != pops[proto.input].size
    ):
        raise CircuitError("protocol.reconstruction: size mismatch with protocol.input")
    return c


def _check_compartment(c: Circuit, p: Population, w: str) -> None:
    a = p.apical
    assert a is not None
    dt = c.protocol.dt
    if a.activation not in ACTIVATIONS:
        raise CircuitError(
            f"{w}.activation: unknown activation {a.activation!r}; "
            f"allowed: {', '.join(ACTIVATIONS)}"
        )
    if not a.tau >= dt:
        raise CircuitError(
            f"{w}.tau: {a.tau} ms; allowed: tau >= dt={dt} ms (Euler needs dt <= tau)"
        )
    if p.role == "input":
        raise CircuitError(
            f"{w}: {p.name!r} is an input population, set to the stimulus; allowed: "
            "a compartment on hidden or label populations"
        )
    if a.rest is not None:
        names = [t.name for t in c.traces]
        own = [t.name for t in c.traces if t.population == p.name + COMPARTMENT_SUFFIX]
        if a.rest not in own:
            what = "unknown trace" if a.rest not in names else "not a trace of the compartment"
            raise CircuitError(
                f"{w}.rest: {what} {a.rest!r}; allowed: a trace of "
                f"{p.name + COMPARTMENT_SUFFIX!r} ({', '.join(own) or 'none declared'}) or null"
            )


def _check_timing(c: Circuit) -> None:
    """label_delay, frames, jitter and stream mode (``docs/circuit-format.md``)."""
    proto = c.protocol
    dt = proto.dt
    present = delay_steps(proto.present, dt, "protocol.present")
    lab = _grid_steps(proto.label_delay, dt, "protocol.label_delay")
    if not 0 <= lab < present:
        raise CircuitError(
            f"protocol.label_delay: {proto.label_delay} ms; allowed: 0 <= label_delay < "
            f"present={proto.present} ms (a multiple of dt)"
        )
    if not proto.frames >= 1 or present % proto.frames:
        raise CircuitError(
            f"protocol.frames: {proto.frames}; allowed: an integer >= 1 that divides the "
            f"{present} steps of a presentation"
        )
    if proto.jitter < 0:
        raise CircuitError(f"protocol.jitter: {proto.jitter} pixels; allowed: a number >= 0")
    if proto.stream:
        if proto.gap != 0:
            raise CircuitError(
                f"protocol.gap: {proto.gap} ms in stream mode (protocol.stream: true); "
                "allowed: 0 (samples follow each other)"
            )
        for i, r in enumerate(c.rules):
            if r.window is not None:
                raise CircuitError(
                    f"rules[{i}] ({r.name}).window: stream mode has no learning windows "
                    "(plasticity is always on); allowed: null"
                )


def _check_zero_delay_loops(c: Circuit) -> None:
    """A loop whose delays sum to zero is an algebraic loop: reject it, naming the loop."""
    graph: dict[str, list[tuple[str, str]]] = {p.name: [] for p in c.groups()}
    dt = c.protocol.dt
    for pr in c.projections:
        if delay_steps(pr.delay, dt, f"projections ({pr.name}).delay") == 0:
            graph[pr.pre].append((pr.post, pr.name))
    state: dict[str, int] = {}
    stack: list[tuple[str, str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        for nxt, proj in graph[node]:
            stack.append((nxt, proj))
            if state.get(nxt) == 1:
                names = [p for _, p in stack]
                pops_in = [n for n, _ in stack]
                start = pops_in.index(nxt)
                loop = " -> ".join(names[start + 1 :])
                raise CircuitError(
                    f"projections: loop with zero total delay ({loop}); every loop needs a delay "
                    f">= dt={dt} ms on at least one projection"
                )
            if state.get(nxt) is None:
                visit(nxt)
            stack.pop()
        state[node] = 2

    for name in graph:
        if state.get(name) is None:
            stack = [(name, "")]
            visit(name)


# --- windows and data set ------------------------------------------------------------------
def _grid_steps(value: float, dt: float, where: str) -> int:
    """``value`` ms in whole steps of dt; rejects values off the dt grid."""
    steps = value / dt
    if not math.isfinite(steps):
        raise CircuitError(f"{where}: {value} ms is too many steps of dt={dt} ms to count")
    if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
        raise CircuitError(
            f"{where}: {value} ms is not a multiple of dt={dt} ms; allowed: k*dt for integer k"
        )
    return int(round(steps))


def _check_window(window: tuple[float, float], c: Circuit, where: str) -> None:
    proto = c.protocol
    lo, hi = (_grid_steps(v, proto.dt, where) for v in window)
    present = delay_steps(proto.present, proto.dt, "protocol.present")
    if not 0 <= lo < hi <= present:
        raise CircuitError(
            f"{where}: {list(window)} must lie inside the presentation; allowed: "
            f"0 <= start < end <= present={proto.present} ms"
        )


def _check_windows(c: Circuit) -> None:
    """Rule windows and the readout window: on the dt grid and inside [0, present]."""
    for i, r in enumerate(c.rules):
        if r.window is not None:
            _check_window(r.window, c, f"rules[{i}] ({r.name}).window")
    if c.protocol.readout_window is not None:
        _check_window(c.protocol.readout_window, c, "protocol.readout_window")


def check_dataset(c: Circuit) -> None:
    """The circuit fits the data set it names: ``protocol.dataset`` is known and the label
    population has a unit per class (:data:`DATASET_CLASSES`).

    Not part of :func:`validate`: circuits built in Python may run on other data (the tests'
    ``random_circuit``); :func:`neurotp.circuit.io.load_circuit` calls it, since a circuit
    file runs on its ``protocol.dataset``, and :func:`neurotp.circuit.protocol.make_drive`
    checks the labels actually presented.
    """
    proto = c.protocol
    if proto.dataset not in DATASET_CLASSES:
        raise CircuitError(
            f"protocol.dataset: unknown data set {proto.dataset!r}; "
            f"allowed: {', '.join(DATASET_CLASSES)}"
        )
    n_classes = DATASET_CLASSES[proto.dataset]
    if proto.label is None:
        return
    for p in c.populations:
        if p.name == proto.label and p.size < n_classes:
            raise CircuitError(
                f"protocol.label: population {p.name!r} has {p.size} units but "
                f"{proto.dataset!r} has {n_classes} classes; allowed: size >= {n_classes}"
            )
