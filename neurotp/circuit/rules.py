"""Plasticity rules as data: every element-wise rule is one general form.

Each element-wise rule on a projection W (post × pre) is, per synapse i←j and step,

    ΔWᵢⱼ = η · ( Σₖ cₖ · Aₖ,ᵢ · aⱼ  −  c_B · Bᵢ · bⱼ ),     Δbᵢ = η · ( Σₖ cₖ · Aₖ,ᵢ − c_B · Bᵢ )

where η = lr·dt, the A's and B are *post-side signals* (one value per post unit) and a, b are
*pre-side signals* (one value per pre unit); the bias update (rules with ``bias: true``) reads
the post-side part with x ≡ 1. A signal is named by a string:

- ``post`` — the postsynaptic unit's own rate; ``pre`` — the presynaptic rate at the
  projection's delay (the x of the docs);
- ``trace:NAME`` — the trace NAME (post side: a trace of a population of the post's size;
  pre side: a trace of the presynaptic population at the projection's delay, x̄);
- ``rate:POP`` — the rate of population POP read unit by unit (post side only).

The named kinds (``prediction``, ``reconstruction``, ``delta``, ``recirculation``) are
*presets*: :data:`PRESETS` maps each to the fields it needs and the form it stands for; a rule
of ``kind: general`` spells its form out (:class:`neurotp.circuit.spec.RuleForm`). Oja's
subspace rule is not element-wise (it reads Wᵀp) and stays its own kind.

:func:`rule_table` compiles the rules of a circuit into flat arrays (:class:`RuleTable`), the
one thing every engine lowers. NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES, ACTIVATIONS, SLOPES
from neurotp.circuit.spec import Circuit, FormTerm, Rule, RuleForm, compartment_of, unit_of

# forms a rule can take in the table
ELEMENTWISE, OJA = 0, 1
# where a signal is read from: the rate vector, the trace vector, the delayed presynaptic rate
SRC_RATE, SRC_TRACE, SRC_PRE = 0, 1, 2


class RuleTable(NamedTuple):
    """Every rule of a circuit as flat arrays (R rules, Q positive terms in all).

    Rule k: ``form[k]`` (ELEMENTWISE or OJA) on projection ``proj[k]``, step factor
    ``eta[k] = lr·dt`` (rescaled in place by ``lr_decay``), ``bias[k]``, bounds
    ``lo[k]..hi[k]`` (±inf: none), open in steps ``win[k, 0] <= s < win[k, 1]`` of a
    presentation. Positive terms q in ``term_ptr[k]:term_ptr[k+1]``: coefficient
    ``term_coef[q]``, post-side signal read from ``term_src[q]`` (SRC_RATE or SRC_TRACE) at
    offset ``term_off[q]``. Their pre-side factor a: ``a_src[k]`` (SRC_PRE or SRC_TRACE) at
    ``a_off[k]``. The negative term: ``neg_coef[k]`` · B ⊗ b with B at ``neg_src[k]``/
    ``neg_off[k]`` and b at ``b_src[k]``/``b_off[k]``. ``same_pre[k]``: a and b are the same
    signal, so ΔW = η·(ΣcA − c_B·B) ⊗ a (engines may use one pass). ``pre_trace[k]``: index of
    the trace the rule reads on its pre side (a or b), −1 if none (delay blocks need it).
    Offsets are into the rate vector (SRC_RATE), the trace vector (SRC_TRACE); for SRC_PRE the
    offset is unused (the signal is the projection's delayed presynaptic rate).
    ``slope_off[k]``: with ``post_slope``, the rate-vector offset of the post units whose
    slope φ′(p) multiplies both terms (and the bias update), −1 without; ``slope_act[k]`` their
    activation code (:data:`neurotp.circuit.activations.ACTIVATION_CODES`).
    """

    form: np.ndarray
    proj: np.ndarray
    eta: np.ndarray
    bias: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    win: np.ndarray
    term_ptr: np.ndarray
    term_coef: np.ndarray
    term_src: np.ndarray
    term_off: np.ndarray
    a_src: np.ndarray
    a_off: np.ndarray
    neg_coef: np.ndarray
    neg_src: np.ndarray
    neg_off: np.ndarray
    b_src: np.ndarray
    b_off: np.ndarray
    same_pre: np.ndarray
    pre_trace: np.ndarray
    slope_off: np.ndarray
    slope_act: np.ndarray


@dataclass(frozen=True)
class Preset:
    """A named rule kind: the fields it needs and the general form it stands for.

    ``form`` is ``None`` for Oja's rule (not element-wise). ``targets`` is the number of
    ``targets`` entries allowed: ``(low, high)``, ``high`` None for no limit.
    """

    doc: str
    form: Callable[[Rule], RuleForm] | None
    needs: tuple[str, ...] = ()
    targets: tuple[int, int | None] = (0, 0)
    post_trace_of_post: bool = field(default=False)


def _prediction(r: Rule) -> RuleForm:
    return RuleForm(
        plus=[FormTerm(f"rate:{t.population}", t.weight) for t in r.targets],
        plus_pre=f"trace:{r.pre_trace}",
        minus_coef=sum(t.weight for t in r.targets),
    )


PRESETS: dict[str, Preset] = {
    "prediction": Preset(
        "section 8: Σₖ cₖ·(Tₖ·x̄ − p·x), one target per loop",
        _prediction,
        needs=("pre_trace",),
        targets=(1, None),
    ),
    "reconstruction": Preset(
        "section 8: (p̄ᶠ − pʳ)·x",
        lambda r: RuleForm(plus=[FormTerm(f"trace:{r.forward_trace}")]),
        needs=("forward_trace",),
    ),
    "delta": Preset(
        "(T − p)·x",
        lambda r: RuleForm(plus=[FormTerm(f"rate:{r.targets[0].population}")]),
        targets=(1, 1),
    ),
    "oja": Preset("Oja's subspace rule p·(x − Wᵀp)", None),
    "recirculation": Preset(
        "Hinton & McClelland 1988: (p̄ − p)·x",
        lambda r: RuleForm(plus=[FormTerm(f"trace:{r.post_trace}")]),
        needs=("post_trace",),
        post_trace_of_post=True,
    ),
    "temporal_prediction": Preset(
        "section 8 in time: (p − p̄)·x̄, the unit now, after the loops return, against its own "
        "recent past (its trace), times the presynaptic trace",
        lambda r: RuleForm(
            plus=[FormTerm("post")],
            plus_pre=f"trace:{r.pre_trace}",
            minus_post=f"trace:{r.post_trace}",
            minus_pre=f"trace:{r.pre_trace}",
        ),
        needs=("pre_trace", "post_trace"),
        post_trace_of_post=True,
    ),
    "general": Preset("the general form, spelled out in `form`", lambda r: r.form, ("form",)),
}

RULE_KINDS: tuple[str, ...] = tuple(PRESETS)
_TRACE_FIELDS = ("pre_trace", "forward_trace", "post_trace")


def rule_form(r: Rule) -> RuleForm | None:
    """The general form rule ``r`` stands for (``None`` for Oja's rule)."""
    preset = PRESETS[r.kind]
    return None if preset.form is None else preset.form(r)


@dataclass(frozen=True)
class SignalRef:
    """A parsed signal: ``kind`` is ``post``, ``pre``, ``apical`` (the rate of the post unit's
    compartment), ``trace`` or ``rate``; ``name`` the trace or population for the last two."""

    kind: str
    name: str | None = None


def parse_signal(text: str, side: str, where: str) -> SignalRef:
    """Parse a signal string of the ``side`` ('post' or 'pre') of a rule; ValueError naming
    ``where`` and the allowed forms otherwise."""
    allowed = (
        "post, apical, trace:NAME, rate:POPULATION"
        if side == "post"
        else "pre, trace:NAME (x̄ of the pre)"
    )
    if not isinstance(text, str):
        raise ValueError(f"{where}: signal {text!r} is not a string; allowed: {allowed}")
    if text == side:
        return SignalRef(side)
    if text == "apical" and side == "post":
        return SignalRef("apical")
    head, _, name = text.partition(":")
    if name and (head == "trace" or (head == "rate" and side == "post")):
        return SignalRef(head, name)
    raise ValueError(f"{where}: unknown {side}-side signal {text!r}; allowed: {allowed}")


def rule_signals(c: Circuit, r: Rule) -> list[tuple[str, SignalRef]]:
    """(side, signal) of every factor rule ``r`` reads, in form order (empty for Oja)."""
    f = rule_form(r)
    if f is None:
        return []
    out = [("post", parse_signal(t.post, "post", "")) for t in f.plus]
    out.append(("pre", parse_signal(f.plus_pre, "pre", "")))
    out.append(("post", parse_signal(f.minus_post, "post", "")))
    out.append(("pre", parse_signal(f.minus_pre, "pre", "")))
    return out


def _signal(c: Circuit, comp_offsets, rule: Rule, text: str, side: str) -> tuple[int, int, int]:
    """(src code, offset, trace index or -1) of a signal of ``rule``."""
    pop_off, tr_off, trace_index = comp_offsets
    proj = c.projection(rule.projection)
    s = parse_signal(text, side, rule.name)
    if s.kind == "post":
        return SRC_RATE, pop_off[proj.post], -1
    if s.kind == "pre":
        return SRC_PRE, 0, -1
    if s.kind == "apical":
        return SRC_RATE, pop_off[compartment_of(proj.post)], -1
    if s.kind == "rate":
        return SRC_RATE, pop_off[s.name], -1
    i = trace_index[s.name]
    return SRC_TRACE, tr_off[i], i


def rule_table(
    c: Circuit,
    pop_off: dict[str, int],
    tr_off: np.ndarray,
    proj_index: dict[str, int],
    windows: np.ndarray,
) -> RuleTable:
    """Compile the (validated) rules of ``c`` into a :class:`RuleTable`."""
    dt = c.protocol.dt
    trace_index = {t.name: i for i, t in enumerate(c.traces)}
    offsets = (pop_off, tr_off, trace_index)
    n = len(c.rules)
    i64 = np.int64
    form = np.zeros(n, i64)
    a_src, a_off, b_src, b_off = (np.zeros(n, i64) for _ in range(4))
    neg_src, neg_off = np.zeros(n, i64), np.zeros(n, i64)
    neg_coef = np.zeros(n)
    same_pre = np.zeros(n, np.bool_)
    pre_trace = np.full(n, -1, i64)
    slope_off, slope_act = np.full(n, -1, i64), np.zeros(n, i64)
    groups = {g.name: g for g in c.groups()}
    ptr, coef, src, off = [0], [], [], []
    for k, r in enumerate(c.rules):
        f = rule_form(r)
        if f is None:
            form[k] = OJA
            ptr.append(len(coef))
            continue
        for t in f.plus:
            s, o, _ = _signal(c, offsets, r, t.post, "post")
            coef.append(float(t.coef))
            src.append(s)
            off.append(o)
        ptr.append(len(coef))
        a_src[k], a_off[k], ta = _signal(c, offsets, r, f.plus_pre, "pre")
        neg_src[k], neg_off[k], _ = _signal(c, offsets, r, f.minus_post, "post")
        b_src[k], b_off[k], tb = _signal(c, offsets, r, f.minus_pre, "pre")
        neg_coef[k] = float(f.minus_coef)
        same_pre[k] = a_src[k] == b_src[k] and a_off[k] == b_off[k]
        pre_trace[k] = max(ta, tb)
        if r.post_slope:
            post = c.projection(r.projection).post
            slope_off[k] = pop_off[post]
            slope_act[k] = ACTIVATION_CODES[groups[post].activation]
    rules = c.rules
    return RuleTable(
        form=form,
        proj=np.array([proj_index[r.projection] for r in rules], dtype=i64),
        eta=np.array([r.lr * dt for r in rules], dtype=np.float64),
        bias=np.array([r.bias for r in rules], dtype=np.bool_),
        lo=np.array([r.bounds[0] if r.bounds else -np.inf for r in rules], dtype=np.float64),
        hi=np.array([r.bounds[1] if r.bounds else np.inf for r in rules], dtype=np.float64),
        win=np.asarray(windows, dtype=i64).reshape(n, 2),
        term_ptr=np.array(ptr, dtype=i64),
        term_coef=np.array(coef, dtype=np.float64),
        term_src=np.array(src, dtype=i64),
        term_off=np.array(off, dtype=i64),
        a_src=a_src,
        a_off=a_off,
        neg_coef=neg_coef,
        neg_src=neg_src,
        neg_off=neg_off,
        b_src=b_src,
        b_off=b_off,
        same_pre=same_pre,
        pre_trace=pre_trace,
        slope_off=slope_off,
        slope_act=slope_act,
    )


def post_slope(rt: RuleTable, k: int, r: np.ndarray, n_post: int) -> np.ndarray:
    """Rule k's slope factor φ′(p) at its post units, read from the rate vector ``r`` (the
    reference engines' definition; rule k must have ``post_slope``)."""
    off = int(rt.slope_off[k])
    return SLOPES[ACTIVATIONS[int(rt.slope_act[k])]](r[off : off + n_post])


def check_rule(c: Circuit, r: Rule, where: str, error: type[Exception]) -> None:
    """Check rule ``r`` against its preset and its form; raise ``error`` naming the field."""
    pops = {p.name: p for p in c.groups()}
    traces = {t.name: t for t in c.traces}
    if r.kind not in PRESETS:
        raise error(f"{where}.kind: unknown rule {r.kind!r}; allowed: {', '.join(RULE_KINDS)}")
    preset = PRESETS[r.kind]
    proj = c.projection(r.projection)
    post = pops[proj.post]
    for name in preset.needs:
        if getattr(r, name) is None:
            raise error(f"{where}.{name}: the {r.kind} rule needs {name!r}")
    low, high = preset.targets
    if len(r.targets) < low:
        raise error(f"{where}.targets: the {r.kind} rule needs at least {low} target population")
    if high is not None and len(r.targets) > high and high > 0:
        raise error(f"{where}.targets: the {r.kind} rule takes exactly {high} target")
    if not high or high > 0:
        for k, tt in enumerate(r.targets):
            if tt.population not in pops:
                raise error(
                    f"{where}.targets[{k}].population: unknown population {tt.population!r}; "
                    f"allowed: {', '.join(pops)}"
                )
            if pops[tt.population].size != post.size:
                raise error(
                    f"{where}.targets[{k}]: size mismatch, target {tt.population!r} has "
                    f"{pops[tt.population].size} units, post {post.name!r} has {post.size}"
                )
    for name in _TRACE_FIELDS:
        tname = getattr(r, name)
        if tname is not None and name in preset.needs and tname not in traces:
            raise error(
                f"{where}.{name}: unknown trace {tname!r}; "
                f"allowed: {', '.join(traces) or '(none defined)'}"
            )
    if preset.post_trace_of_post and traces[r.post_trace].population != proj.post:
        raise error(f"{where}.post_trace: must be a trace of the post population {proj.post!r}")
    f = rule_form(r)
    if r.post_slope:
        if f is None:
            raise error(f"{where}.post_slope: Oja's rule has no slope factor; allowed: false")
        if post.activation not in SLOPES:
            raise error(
                f"{where}.post_slope: the post population {post.name!r} is {post.activation}, "
                f"which has no slope; allowed with activations {', '.join(SLOPES)}"
            )
    if f is None:
        return
    # the form: presets name their own field in errors, general rules the form's
    field_of = {f"trace:{getattr(r, n)}": n for n in _TRACE_FIELDS if n in preset.needs}
    signals = [(f"form.plus[{k}].post", t.post, "post") for k, t in enumerate(f.plus)]
    signals += [
        ("form.plus_pre", f.plus_pre, "pre"),
        ("form.minus_post", f.minus_post, "post"),
        ("form.minus_pre", f.minus_pre, "pre"),
    ]
    if r.kind == "general" and not f.plus:
        raise error(f"{where}.form.plus: the general rule needs at least one positive term")
    for fld, text, side in signals:
        at = f"{where}.{field_of.get(text, fld)}"
        try:
            s = parse_signal(text, side, at)
        except ValueError as exc:
            raise error(str(exc)) from None
        if s.kind == "apical" and compartment_of(proj.post) not in pops:
            raise error(
                f"{at}: 'apical' reads the compartment of the post population "
                f"{unit_of(proj.post)!r}, which has none; allowed: give it `apical:` or read "
                "another signal"
            )
        if s.kind == "rate":
            if s.name not in pops:
                raise error(f"{at}: unknown population {s.name!r}; allowed: {', '.join(pops)}")
            if pops[s.name].size != post.size:
                raise error(
                    f"{at}: size mismatch, {s.name!r} has {pops[s.name].size} units, "
                    f"post {post.name!r} has {post.size}"
                )
        if s.kind != "trace":
            continue
        if s.name not in traces:
            raise error(
                f"{at}: unknown trace {s.name!r}; allowed: {', '.join(traces) or '(none defined)'}"
            )
        tr = traces[s.name]
        want = proj.post if side == "post" else proj.pre
        if pops[tr.population].size != pops[want].size:
            raise error(
                f"{at}: size mismatch, trace {s.name!r} of {tr.population!r} has "
                f"{pops[tr.population].size} units, {want!r} has {pops[want].size}"
            )
        if side == "pre" and (tr.population != proj.pre or abs(tr.delay - proj.delay) > 1e-12):
            raise error(
                f"{at}: trace {s.name!r} must follow the presynaptic population {proj.pre!r} "
                f"with the projection's delay {proj.delay} ms "
                f"(it follows {tr.population!r} at {tr.delay} ms)"
            )
