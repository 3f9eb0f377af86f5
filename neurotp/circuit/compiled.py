"""A circuit flattened into index tables and the initial state, for engines to run.

Every engine works on the same flat layout: all units of all populations in one rate vector
(populations in declaration order), all weight matrices in one flat array (tied projections
point at their owner's block), a ring buffer ``hist[L, N]`` of past rates for the delays, and
one flat trace vector. NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES
from neurotp.circuit.memory import check_memory
from neurotp.circuit.rules import RuleTable, rule_table
from neurotp.circuit.spec import COMPARTMENT_SUFFIX, Circuit
from neurotp.circuit.validate import delay_steps, validate

ROLE_CODES: dict[str, int] = {"hidden": 0, "input": 1, "label": 2, "compartment": 3}


@dataclass
class State:
    """Everything that changes while a circuit runs (and is checkpointed)."""

    r: np.ndarray  # (N,) rates
    hist: np.ndarray  # (L, N) ring buffer of past rates; slot t % L holds r(t)
    tr: np.ndarray  # (M,) traces
    w: np.ndarray  # flat weights
    b: np.ndarray  # (N,) biases
    t: int = 0  # steps simulated so far

    def copy(self) -> State:
        return State(
            self.r.copy(), self.hist.copy(), self.tr.copy(), self.w.copy(), self.b.copy(), self.t
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "r": self.r,
            "hist": self.hist,
            "tr": self.tr,
            "w": self.w,
            "b": self.b,
            "t": np.array(self.t, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, d: dict[str, np.ndarray]) -> State:
        return cls(
            d["r"].copy(),
            d["hist"].copy(),
            d["tr"].copy(),
            d["w"].copy(),
            d["b"].copy(),
            int(d["t"]),
        )


@dataclass
class Compiled:
    """Index tables of a validated circuit (see module docstring)."""

    circuit: Circuit
    dt: float
    n_units: int
    hist_len: int
    pop_names: list[str]
    pop_off: np.ndarray
    pop_size: np.ndarray
    pop_role: np.ndarray
    unit_act: np.ndarray
    unit_alpha: np.ndarray  # dt / tau per unit
    unit_sigma: np.ndarray
    unit_pop: np.ndarray
    noise_idx: np.ndarray  # units with sigma > 0, in order; noise rows follow this order
    # projections
    proj_names: list[str]
    proj_pre_off: np.ndarray
    proj_pre_n: np.ndarray
    proj_post_off: np.ndarray
    proj_post_n: np.ndarray
    proj_delay: np.ndarray
    proj_w_off: np.ndarray
    n_weights: int
    # traces
    trace_names: list[str]
    tr_off: np.ndarray
    tr_src_off: np.ndarray
    tr_n: np.ndarray
    tr_alpha: np.ndarray
    tr_delay: np.ndarray
    n_trace_units: int
    # rules: the general form of every rule (neurotp.circuit.rules); rule_eta, rule_proj,
    # rule_bias, rule_lo, rule_hi and rule_win are the same arrays as rules.eta etc.
    rules: RuleTable
    rule_names: list[str]
    rule_proj: np.ndarray
    rule_eta: np.ndarray  # lr * dt
    rule_bias: np.ndarray
    rule_lo: np.ndarray
    rule_hi: np.ndarray
    rule_win: np.ndarray  # (n_rules, 2) window in steps from onset, [start, end)
    # protocol
    present_steps: int
    gap_steps: int
    input_off: int
    input_n: int
    label_off: int = -1
    label_n: int = 0
    readout_win: tuple[int, int] = (0, 0)
    # compartment couplings: the soma units [cpl_dst, +n) get gain·(r[cpl_src..] − tr[cpl_rest..])
    # (no trace subtracted where cpl_rest < 0), read at the start of the step
    cpl_dst: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cpl_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cpl_n: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cpl_gain: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    cpl_rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    label_steps: int = 0  # the label clamp starts this many steps after onset
    frames: int = 1  # stimulus frames per presentation, each present_steps // frames long

    @property
    def steps_per_presentation(self) -> int:
        return self.present_steps + self.gap_steps

    def pop_slice(self, name: str) -> slice:
        i = self.pop_names.index(name)
        return slice(int(self.pop_off[i]), int(self.pop_off[i] + self.pop_size[i]))

    def proj_matrix(self, w: np.ndarray, name: str) -> np.ndarray:
        """View of projection ``name``'s (post x pre) matrix inside flat weights ``w``."""
        i = self.proj_names.index(name)
        n = int(self.proj_post_n[i] * self.proj_pre_n[i])
        off = int(self.proj_w_off[i])
        return w[off : off + n].reshape(int(self.proj_post_n[i]), int(self.proj_pre_n[i]))

    def rules_active(self, step_in_presentation: np.ndarray) -> np.ndarray:
        """(n_steps, n_rules) bool: which rules are open at each step of a presentation."""
        s = np.asarray(step_in_presentation)[:, None]
        return (s >= self.rule_win[None, :, 0]) & (s < self.rule_win[None, :, 1])

    def initial_state(self, dtype: type = np.float64) -> State:
        c = self.circuit
        w = np.zeros(self.n_weights, dtype=dtype)
        for i, pr in enumerate(c.projections):
            if pr.tie is not None:
                continue
            m = self.proj_matrix(w, pr.name)
            # One stream per projection, keyed by (circuit seed, projection index).
            rng = np.random.default_rng([c.seed, i])
            n_pre = m.shape[1]
            scale = pr.init.scale / (np.sqrt(n_pre) if pr.init.fan_in else 1.0)
            if pr.init.kind == "normal":
                m[...] = rng.standard_normal(m.shape) * scale
            elif pr.init.kind == "uniform":
                m[...] = rng.uniform(-scale, scale, m.shape)
            elif pr.init.kind == "identity":
                m[...] = np.eye(m.shape[0]) * pr.init.scale
            elif pr.init.kind == "constant":
                m[...] = pr.init.scale
        b = np.zeros(self.n_units, dtype=dtype)
        for p, off in zip(c.groups(), self.pop_off, strict=True):
            b[off : off + p.size] = p.bias
        r = np.zeros(self.n_units, dtype=dtype)
        hist = np.zeros((self.hist_len, self.n_units), dtype=dtype)
        tr = np.zeros(self.n_trace_units, dtype=dtype)
        return State(r=r, hist=hist, tr=tr, w=w, b=b, t=0)


def compile_circuit(c: Circuit) -> Compiled:
    """Validate ``c`` and flatten it (see :class:`Compiled`)."""
    validate(c)
    check_memory(c)
    dt = c.protocol.dt
    pops = c.groups()  # populations, then compartments
    names = [p.name for p in pops]
    sizes = np.array([p.size for p in pops], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n = int(sizes.sum())
    unit_act = np.concatenate(
        [np.full(p.size, ACTIVATION_CODES[p.activation]) for p in pops]
    ).astype(np.int64)
    unit_alpha = np.concatenate([np.full(p.size, dt / p.tau) for p in pops])
    unit_sigma = np.concatenate([np.full(p.size, p.noise) for p in pops])
    unit_pop = np.concatenate([np.full(p.size, i) for i, p in enumerate(pops)]).astype(np.int64)
    noise_idx = np.nonzero(unit_sigma > 0)[0].astype(np.int64)
    idx = {nm: i for i, nm in enumerate(names)}

    projs = c.projections
    pnames = [p.name for p in projs]
    pre_off = np.array([offs[idx[p.pre]] for p in projs], dtype=np.int64)
    pre_n = np.array([sizes[idx[p.pre]] for p in projs], dtype=np.int64)
    post_off = np.array([offs[idx[p.post]] for p in projs], dtype=np.int64)
    post_n = np.array([sizes[idx[p.post]] for p in projs], dtype=np.int64)
    delays = np.array(
        [delay_steps(p.delay, dt, f"projections ({p.name}).delay") for p in projs], dtype=np.int64
    )
    w_off = np.zeros(len(projs), dtype=np.int64)
    total = 0
    for i, p in enumerate(projs):
        if p.tie is None:
            w_off[i] = total
            total += int(pre_n[i] * post_n[i])
    for i, p in enumerate(projs):
        if p.tie is not None:
            w_off[i] = w_off[pnames.index(p.tie)]

    trs = c.traces
    tnames = [t.name for t in trs]
    tr_n = np.array([sizes[idx[t.population]] for t in trs], dtype=np.int64)
    tr_off = (
        np.concatenate([[0], np.cumsum(tr_n)[:-1]]).astype(np.int64)
        if trs
        else np.zeros(0, np.int64)
    )
    tr_src = np.array([offs[idx[t.population]] for t in trs], dtype=np.int64)
    tr_alpha = np.array([dt / t.tau for t in trs], dtype=np.float64)
    tr_delay = np.array(
        [delay_steps(t.delay, dt, f"traces ({t.name}).delay") for t in trs], dtype=np.int64
    )

    hist_len = int(max([0, *delays.tolist(), *tr_delay.tolist()])) + 1

    present = delay_steps(c.protocol.present, dt, "protocol.present")
    gap = delay_steps(c.protocol.gap, dt, "protocol.gap")
    rules = c.rules
    nr = len(rules)
    win = np.zeros((nr, 2), dtype=np.int64)
    for k, r in enumerate(rules):
        if r.window is None:
            win[k] = (0, present)
        else:
            win[k] = (int(round(r.window[0] / dt)), int(round(r.window[1] / dt)))

    table = rule_table(
        c,
        {nm: int(offs[i]) for i, nm in enumerate(names)},
        tr_off,
        {nm: i for i, nm in enumerate(pnames)},
        win,
    )
    proto = c.protocol
    if proto.readout_window is None:
        rw = (max(0, present - max(1, present // 4)), present)
    else:
        rw = (int(round(proto.readout_window[0] / dt)), int(round(proto.readout_window[1] / dt)))
    if not (0 <= rw[0] < rw[1] <= present):
        raise ValueError(
            f"protocol.readout_window: {proto.readout_window} must lie inside "
            f"[0, present={proto.present}] ms"
        )
    lab = proto.label
    owners = [(i, p) for i, p in enumerate(c.populations) if p.apical is not None]
    tr_index = {t.name: i for i, t in enumerate(trs)}
    i64 = np.int64
    cpl_dst = np.array([offs[i] for i, _ in owners], dtype=i64)
    cpl_src = np.array([offs[idx[p.name + COMPARTMENT_SUFFIX]] for _, p in owners], dtype=i64)
    cpl_n = np.array([p.size for _, p in owners], dtype=i64)
    cpl_gain = np.array([p.apical.gain for _, p in owners], dtype=np.float64)
    cpl_rest = np.array(
        [-1 if p.apical.rest is None else tr_off[tr_index[p.apical.rest]] for _, p in owners],
        dtype=i64,
    )
    return Compiled(
        circuit=c,
        dt=dt,
        n_units=n,
        hist_len=hist_len,
        pop_names=names,
        pop_off=offs,
        pop_size=sizes,
        pop_role=np.array([ROLE_CODES[p.role] for p in pops], dtype=np.int64),
        unit_act=unit_act,
        unit_alpha=unit_alpha,
        unit_sigma=unit_sigma,
        unit_pop=unit_pop,
        noise_idx=noise_idx,
        proj_names=pnames,
        proj_pre_off=pre_off,
        proj_pre_n=pre_n,
        proj_post_off=post_off,
        proj_post_n=post_n,
        proj_delay=delays,
        proj_w_off=w_off,
        n_weights=total,
        trace_names=tnames,
        tr_off=tr_off,
        tr_src_off=tr_src,
        tr_n=tr_n,
        tr_alpha=tr_alpha,
        tr_delay=tr_delay,
        n_trace_units=int(tr_n.sum()),
        rules=table,
        rule_names=[r.name for r in rules],
        rule_proj=table.proj,
        rule_eta=table.eta,
        rule_bias=table.bias,
        rule_lo=table.lo,
        rule_hi=table.hi,
        rule_win=table.win,
        present_steps=present,
        gap_steps=gap,
        input_off=int(offs[idx[proto.input]]),
        input_n=int(sizes[idx[proto.input]]),
        label_off=int(offs[idx[lab]]) if lab else -1,
        label_n=int(sizes[idx[lab]]) if lab else 0,
        readout_win=rw,
        cpl_dst=cpl_dst,
        cpl_src=cpl_src,
        cpl_n=cpl_n,
        cpl_gain=cpl_gain,
        cpl_rest=cpl_rest,
        label_steps=int(round(proto.label_delay / dt)),
        frames=int(proto.frames),
    )
