"""The builders of the Brian2 rate network, one per part: units, delay line, traces, rule
signals, synapses.

The builders first collect what the three ``NeuronGroup``\\ s need (equations, initial values,
linked variables) in a :class:`Blueprint`, since Brian2 fixes a group's equations when it is
created and links groups only once all exist; :func:`make_groups` then creates them and
:func:`make_synapses` the ``Synapses``. The order of the step is
:func:`neurotp.engines.brian2.rate.schedule`'s. Groups (see :mod:`neurotp.engines.brian2`):
``U`` all N units, ``DL`` the delay line of L·N units (block k holds r(t − k)), ``TR`` the
trace units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import brian2 as b2
import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.rules import OJA, SRC_PRE, SRC_RATE
from neurotp.engines.brian2.forms import (
    Factors,
    RuleCode,
    elementwise_code,
    oja_code,
    slope_code,
)

GATE, OPEN = "ntp_gate(t, {k})", "ntp_open(t, {k})"


@dataclass
class Layout:
    """Indices every builder reads: sizes, the owner of each projection (itself if untied),
    the tied projections."""

    comp: Compiled
    N: int
    L: int
    owner: list[int]
    tied: list[int]

    @classmethod
    def of(cls, comp: Compiled) -> Layout:
        circ = comp.circuit
        names = comp.proj_names
        ties = [circ.projection(p).tie for p in names]
        owner = [names.index(t) if t is not None else p for p, t in enumerate(ties)]
        tied = [p for p, t in enumerate(ties) if t is not None]
        return cls(comp, comp.n_units, comp.hist_len, owner, tied)

    def post_units(self, p: int) -> np.ndarray:
        c = self.comp
        return int(c.proj_post_off[p]) + np.arange(int(c.proj_post_n[p]))

    def pre_slots(self, p: int) -> np.ndarray:
        """``DL`` indices of projection p's delayed presynaptic rates."""
        c = self.comp
        return (
            int(c.proj_delay[p]) * self.N + int(c.proj_pre_off[p]) + np.arange(int(c.proj_pre_n[p]))
        )


@dataclass
class Blueprint:
    """What the groups need before they exist: equations, values, links, and the rules."""

    sizes: dict[str, int] = field(default_factory=dict)
    eqs: dict[str, list[str]] = field(default_factory=lambda: {"U": [], "DL": [], "TR": []})
    values: dict[str, dict[str, Any]] = field(default_factory=lambda: {"U": {}, "DL": {}, "TR": {}})
    # (group, variable, source group, source variable, index)
    links: list[tuple[str, str, str, str, np.ndarray]] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # DL: plain copies of linked variables
    nudge: str = ""  # the compartments' term of the soma current (empty without compartments)
    syn_eqs: dict[int, list[str]] = field(default_factory=dict)  # extra model lines per owner
    rules: list[LoweredRule] = field(default_factory=list)
    _signals: dict[tuple, str] = field(default_factory=dict)

    def link(self, group: str, var: str, src: str, src_var: str, index: np.ndarray) -> None:
        self.eqs[group].append(f"{var} : 1 (linked)")
        self.links.append((group, var, src, src_var, np.asarray(index, dtype=np.int64)))


@dataclass(frozen=True)
class LoweredRule:
    """Rule k as Brian2 code: ``coef`` (on ``U``, may be empty), ``weights`` (on the owner's
    ``Synapses`` ``syn``), ``bias`` (on ``U``, or empty), ``oja``: its Wᵀp summed variable
    must be updated just before ``weights``."""

    k: int
    syn: int
    coef: str
    weights: str
    bias: str
    oja: bool


def add_units(bp: Blueprint, lay: Layout, state: State) -> None:
    """``U``: rates, biases, the summed current of every projection, clamp and noise indices,
    one activation flag per activation code in use."""
    c, N = lay.comp, lay.N
    codes = sorted(set(c.unit_act.tolist()))
    bp.sizes["U"] = N
    bp.eqs["U"] += [
        "r : 1",
        "b : 1",
        "Itot : 1",
        "alpha : 1 (constant)",
        "sigma : 1 (constant)",
        "nidx : integer (constant)",
        "isin : 1 (constant)",
        "sidx : integer (constant)",
        "islab : 1 (constant)",
        "lidx : integer (constant)",
    ]
    bp.eqs["U"] += [f"a{code} : 1 (constant)" for code in codes]
    bp.eqs["U"] += [f"I_{p} : 1" for p in range(len(c.proj_names))]
    v = bp.values["U"]
    inputs = np.isin(c.unit_pop, np.nonzero(c.pop_role == 1)[0])
    v["alpha"] = np.where(inputs, 0.0, c.unit_alpha)
    v["sigma"] = c.unit_sigma
    nidx = np.zeros(N, dtype=np.int64)
    nidx[c.noise_idx] = np.arange(len(c.noise_idx))
    v["nidx"] = nidx
    inp = slice(c.input_off, c.input_off + c.input_n)
    v["isin"] = np.zeros(N)
    v["isin"][inp] = 1.0
    v["sidx"] = np.zeros(N, dtype=np.int64)
    v["sidx"][inp] = np.arange(c.input_n)
    v["islab"], v["lidx"] = np.zeros(N), np.zeros(N, dtype=np.int64)
    if c.label_n > 0:
        lab = slice(c.label_off, c.label_off + c.label_n)
        v["islab"][lab] = 1.0
        v["lidx"][lab] = np.arange(c.label_n)
    for code in codes:
        v[f"a{code}"] = (c.unit_act == code).astype(float)
    v["r"], v["b"] = state.r, state.b
    # a tied projection's current is summed at its owner's post units (its synapses):
    # Ilk_p reads it back at the tied post units, mt_p masks them
    for p in lay.tied:
        o = lay.owner[p]
        li = np.arange(N)
        li[lay.post_units(p)] = lay.post_units(o)
        bp.link("U", f"Ilk_{p}", "U", f"I_{p}", li)
        bp.eqs["U"].append(f"mt_{p} : 1 (constant)")
        mt = np.zeros(N)
        mt[lay.post_units(p)] = 1.0
        v[f"mt_{p}"] = mt


def add_delay_line(bp: Blueprint, lay: Layout, state: State) -> None:
    """``DL``: L blocks of N rates, shifted by one block per step (``tmp`` then ``r``); the
    tied projections' presynaptic rates copied to the owner's presynaptic slots (``xtv_p``)."""
    N, L = lay.N, lay.L
    idx = np.arange(L * N)
    bp.sizes["DL"] = L * N
    bp.eqs["DL"] += ["r : 1", "tmp : 1", "isb0 : 1 (constant)"]
    bp.link("DL", "rsrc", "U", "r", idx % N)
    if L > 1:
        bp.link("DL", "rsh", "DL", "r", np.where(idx < N, idx, idx - N))
    bp.values["DL"]["isb0"] = (idx < N).astype(float)
    # before a run's first shift, block k holds r(t0 - 1 - k)
    t0 = state.t
    bp.values["DL"]["r"] = np.concatenate([state.hist[(t0 - 1 - k) % L] for k in range(L)])
    # Synapses cannot read linked variables of their groups: plain copies made each step
    for p in lay.tied:
        xi = idx.copy()
        xi[lay.pre_slots(lay.owner[p])] = lay.pre_slots(p)
        bp.link("DL", f"xt_{p}", "DL", "r", xi)
        bp.eqs["DL"].append(f"xtv_{p} : 1")
        bp.copies.append(f"xtv_{p} = xt_{p}")


def add_traces(bp: Blueprint, lay: Layout, state: State) -> None:
    """``TR``: the M trace units, each following its population's delayed rate in ``DL``."""
    c = lay.comp
    M = c.n_trace_units
    if M == 0:
        return
    bp.sizes["TR"] = M
    bp.eqs["TR"] += ["tr : 1", "talpha : 1 (constant)"]
    talpha = np.zeros(M)
    tsrc = np.zeros(M, dtype=np.int64)
    for m in range(len(c.trace_names)):
        o, n = int(c.tr_off[m]), int(c.tr_n[m])
        talpha[o : o + n] = c.tr_alpha[m]
        tsrc[o : o + n] = int(c.tr_delay[m]) * lay.N + int(c.tr_src_off[m]) + np.arange(n)
    bp.link("TR", "src", "DL", "r", tsrc)
    bp.values["TR"]["talpha"] = talpha
    bp.values["TR"]["tr"] = state.tr


def add_couplings(bp: Blueprint, lay: Layout) -> None:
    """The compartments' nudge of their somata (``Compiled.cpl_*``): at each soma unit ``U``
    reads its compartment's rate ``ca`` and, with a rest trace, that trace ``crest`` (linked
    variables, read where the projection currents are, at the start of the step) and adds
    ``cg*(ca - crh*crest)`` to its current (gain ``cg``, ``crh`` 1 where a rest trace is
    subtracted; both 0 at units without a compartment)."""
    c, N = lay.comp, lay.N
    if len(c.cpl_dst) == 0:
        return
    src, rest = np.arange(N), np.zeros(N, dtype=np.int64)
    gain, has_rest = np.zeros(N), np.zeros(N)
    for q in range(len(c.cpl_dst)):
        soma = int(c.cpl_dst[q]) + np.arange(int(c.cpl_n[q]))
        src[soma] = int(c.cpl_src[q]) + np.arange(len(soma))
        gain[soma] = float(c.cpl_gain[q])
        if c.cpl_rest[q] >= 0:
            rest[soma] = int(c.cpl_rest[q]) + np.arange(len(soma))
            has_rest[soma] = 1.0
    bp.link("U", "ca", "U", "r", src)
    bp.eqs["U"] += ["cg : 1 (constant)", "crh : 1 (constant)"]
    bp.values["U"]["cg"], bp.values["U"]["crh"] = gain, has_rest
    if has_rest.any():  # a rest trace is a trace, so TR exists
        bp.link("U", "crest", "TR", "tr", rest)
        bp.nudge = "cg*(ca - crh*crest)"
    else:
        bp.nudge = "cg*ca"


def _post_signal(bp: Blueprint, lay: Layout, p: int, src: int, off: int) -> str:
    """A post-side signal of a rule on projection p as a variable of ``U`` at the owner's
    post units (where the weights' synapses end)."""
    own, opost = lay.post_units(p), lay.post_units(lay.owner[p])
    if src == SRC_RATE and int(off) == int(own[0]) and lay.owner[p] == p:
        return "r"
    key = ("post", src, int(off), int(opost[0]))
    if key not in bp._signals:
        name = f"ps_{len(bp._signals)}"
        if src == SRC_RATE:
            index = np.arange(lay.N)
            index[opost] = int(off) + np.arange(len(own))
            bp.link("U", name, "U", "r", index)
        else:
            index = np.zeros(lay.N, dtype=np.int64)
            index[opost] = int(off) + np.arange(len(own))
            bp.link("U", name, "TR", "tr", index)
        bp._signals[key] = name
    return bp._signals[key]


def _slope(bp: Blueprint, lay: Layout, p: int, rt, k: int) -> str | None:
    """Rule k's ``post_slope`` factor as an expression on ``U`` (None without one)."""
    if rt.slope_off[k] < 0:
        return None
    rate = _post_signal(bp, lay, p, SRC_RATE, int(rt.slope_off[k]))
    return slope_code(int(rt.slope_act[k]), rate)


def _pre_signal(bp: Blueprint, lay: Layout, p: int, src: int, off: int) -> str:
    """A pre-side signal of a rule on projection p as a synapse reads it."""
    if src == SRC_PRE:
        return "r_pre" if lay.owner[p] == p else f"xtv_{p}_pre"
    slots = lay.pre_slots(lay.owner[p])
    key = ("pre", int(off), int(slots[0]))
    if key not in bp._signals:
        n = len(bp._signals)
        index = np.zeros(lay.L * lay.N, dtype=np.int64)
        index[slots] = int(off) + np.arange(len(slots))
        bp.link("DL", f"xs_{n}", "TR", "tr", index)
        bp.eqs["DL"].append(f"xsv_{n} : 1")
        bp.copies.append(f"xsv_{n} = xs_{n}")
        bp._signals[key] = f"xsv_{n}_pre"
    return bp._signals[key]


def add_rules(bp: Blueprint, lay: Layout) -> None:
    """Every rule of ``comp.rules`` lowered to code (:mod:`neurotp.engines.brian2.forms`): its
    signals become variables of ``U`` and ``DL``, its coefficients live on the owner's post
    units, a rule on a tied projection writes its bias back through a linked variable."""
    rt, N = lay.comp.rules, lay.N
    for k in range(len(rt.form)):
        p = int(rt.proj[k])
        wp = lay.owner[p]
        gate, open_flag = GATE.format(k=k), OPEN.format(k=k)
        lo, hi = float(rt.lo[k]), float(rt.hi[k])
        if rt.form[k] == OJA:  # untied only (check_supported)
            bp.eqs["DL"].append(f"back_{k} : 1")
            bp.syn_eqs.setdefault(wp, []).append(f"back_{k}_pre = w*r_post : 1 (summed)")
            code = oja_code(k, gate, open_flag, "r_post", "r_pre", lo, hi)
            bp.rules.append(LoweredRule(k, wp, "", code, "", True))
            continue
        q = range(int(rt.term_ptr[k]), int(rt.term_ptr[k + 1]))
        f = Factors(
            plus=tuple(
                (float(rt.term_coef[j]), _post_signal(bp, lay, p, rt.term_src[j], rt.term_off[j]))
                for j in q
            ),
            a=_pre_signal(bp, lay, p, rt.a_src[k], rt.a_off[k]),
            minus_coef=float(rt.neg_coef[k]),
            minus=_post_signal(bp, lay, p, rt.neg_src[k], rt.neg_off[k]),
            b=_pre_signal(bp, lay, p, rt.b_src[k], rt.b_off[k]),
            same_pre=bool(rt.same_pre[k]),
            slope=_slope(bp, lay, p, rt, k),
        )
        rc: RuleCode = elementwise_code(k, f, gate, open_flag, lo, hi, bool(rt.bias[k]))
        bp.eqs["U"] += [f"{v} : 1" for v in rc.variables]
        bias = ""
        if rc.bias is not None:
            bp.eqs["U"].append(f"mask_{k} : 1 (constant)")
            mask = np.zeros(N)
            mask[lay.post_units(p)] = 1.0
            bp.values["U"][f"mask_{k}"] = mask
            db = rc.bias
            if wp != p:  # the increment sits at the owner's post units: read it back
                bi = np.arange(N)
                bi[lay.post_units(p)] = lay.post_units(wp)
                bp.link("U", f"bl_{k}", "U", rc.bias, bi)
                db = f"bl_{k}"
            bias = f"b = b + ({gate}*mask_{k})*{db}"
        bp.rules.append(LoweredRule(k, wp, rc.coef, rc.weights, bias, False))


def make_groups(bp: Blueprint, dt: Any) -> dict[str, Any]:
    """The ``NeuronGroup``\\ s ``U``, ``DL`` and (with traces) ``TR``, values set, linked."""
    groups: dict[str, Any] = {}
    for key, n in bp.sizes.items():
        groups[key] = b2.NeuronGroup(n, "\n".join(bp.eqs[key]), dt=dt, name=f"ntp_{key}")
        for var, value in bp.values[key].items():
            setattr(groups[key], var, value)
    for group, var, src, src_var, index in bp.links:
        setattr(groups[group], var, b2.linked_var(groups[src], src_var, index=index))
    return groups


def make_synapses(
    bp: Blueprint, lay: Layout, groups: dict[str, Any], state: State, dt: Any
) -> dict[int, Any]:
    """One ``Synapses(DL, U)`` per owner projection (post-major, the flat weight order), its
    presynaptic indices in the block of its delay: ``I_p_post = w*r_pre`` (and the tied
    projections' currents through ``xtv_q``)."""
    c = lay.comp
    syn: dict[int, Any] = {}
    for p in range(len(c.proj_names)):
        if lay.owner[p] != p:
            continue
        model = ["w : 1", f"I_{p}_post = w*r_pre : 1 (summed)"]
        model += [f"I_{q}_post = w*xtv_{q}_pre : 1 (summed)" for q in lay.tied if lay.owner[q] == p]
        model += bp.syn_eqs.get(p, [])
        S = b2.Synapses(groups["DL"], groups["U"], "\n".join(model), dt=dt, name=f"ntp_S{p}")
        n_pre, n_post = int(c.proj_pre_n[p]), int(c.proj_post_n[p])
        a, j = np.divmod(np.arange(n_pre * n_post), n_pre)
        S.connect(i=lay.pre_slots(p)[j], j=lay.post_units(p)[a])
        off = int(c.proj_w_off[p])
        S.w = state.w[off : off + n_pre * n_post]
        syn[p] = S
    return syn
