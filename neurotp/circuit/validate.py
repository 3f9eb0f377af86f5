"""Validation: every error names the field and what is allowed."""

from __future__ import annotations

import math

from neurotp.circuit.activations import ACTIVATIONS
from neurotp.circuit.rules import RULE_KINDS, check_rule
from neurotp.circuit.spec import INIT_KINDS, MODELS, ROLES, Circuit

__all__ = ["RULE_KINDS", "CircuitError", "delay_steps", "validate"]


class CircuitError(ValueError):
    """The circuit is well-formed data but describes something that cannot run."""


def delay_steps(delay: float, dt: float, where: str) -> int:
    """Delay in whole steps of dt; rejects negative delays and non-multiples of dt."""
    if delay < 0:
        raise CircuitError(
            f"{where}: delay {delay} ms is negative; "
            f"allowed: 0 or a positive multiple of dt={dt} ms"
        )
    steps = delay / dt
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
    """Check a circuit; return it unchanged or raise :class:`CircuitError`."""
    proto = c.protocol
    dt = proto.dt
    if not (dt > 0 and math.isfinite(dt)):
        raise CircuitError(f"protocol.dt: {dt} is not a positive number of ms")
    for key in ("max_rate", "tau_syn", "tau_m"):
        v = getattr(c.spiking, key)
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            unit = "Hz" if key == "max_rate" else "ms"
            raise CircuitError(f"spiking.{key}: {v!r} is not a positive number of {unit}")
    pops = {p.name: p for p in c.populations}
    _unique([p.name for p in c.populations], "populations")
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


def _check_zero_delay_loops(c: Circuit) -> None:
    """A loop whose delays sum to zero is an algebraic loop: reject it, naming the loop."""
    graph: dict[str, list[tuple[str, str]]] = {p.name: [] for p in c.populations}
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
