"""The Brian2 engine: the rate model as Brian2 groups and synapses, and spiking populations.

Rate mode runs the step of :mod:`neurotp.engines.reference` with Brian2 objects only
(``NeuronGroup``, ``Synapses``, ``run_regularly``, summed variables, linked variables,
``TimedArray``, ``StateMonitor``), so the same network runs on the ``numpy``, ``cython`` and
``cpp_standalone`` targets. Layout (mirrors :class:`neurotp.circuit.compiled.Compiled`):

- ``U`` — one ``NeuronGroup`` of all N units (populations in declaration order) holding the
  rate ``r``, bias ``b``, one summed current ``I_p`` per projection, per-rule coefficients;
- ``DL`` — the delay line, a ``NeuronGroup`` of L·N units (L = ``hist_len``): block k holds
  r(t − k). Brian2 puts no delay on summed variables (brian-team/brian2#467), so each step a
  two-phase copy shifts the blocks by one (``tmp = previous block``; ``r = tmp``) after the
  clamp. Every projection is a ``Synapses(DL, U)`` whose presynaptic indices lie in block d
  (its delay), so ``I_p = Σ w·r_pre`` reads r(t − d) exactly;
- ``TR`` — the traces, a ``NeuronGroup`` of M units reading r(t − delay) from ``DL``;
- rules — ``Synapses.run_regularly`` code in declaration order (bias updates on ``U``),
  gated per step by a ``TimedArray``; Oja's rule uses a presynaptic summed variable (Wᵀp);
- a tied projection is computed by its owner's ``Synapses`` (a second summed variable
  reading the tied presynaptic rates through a linked variable), so the weights exist once.

The schedule inside one ``dt`` (all in the ``start`` slot, explicit ``order``): clamp →
delay-line shift → summed currents → total current (old bias) → rule coefficients → rules in
declaration order → traces → Euler rate update; a ``StateMonitor`` records r after the step.
Spiking populations (``model: poisson|lif``) are handled by
:mod:`neurotp.engines.brian2_spiking`.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from typing import Any

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import Engine, RunResult

try:  # brian2 is an optional extra
    import brian2 as b2
except ImportError as exc:  # pragma: no cover - exercised only without brian2
    raise ImportError(
        "backend 'brian2' needs the optional extra: pip install 'neurotp[brian2]'"
    ) from exc

TARGETS: tuple[str, ...] = ("numpy", "cython", "cpp_standalone")
PREDICTION, RECONSTRUCTION, DELTA, OJA, RECIRCULATION = 0, 1, 2, 3, 4

# φ as Brian2 expressions of I, by activation code (neurotp.circuit.activations)
_PHI_EXPR: dict[int, str] = {
    0: "Itot",
    1: "tanh(Itot)",
    2: "(0.5*(1.0 + tanh(0.5*Itot)))",
    3: "(Itot*int(Itot > 0))",
    4: "(2.0*int(Itot >= 0) - 1.0)",
    5: "(1.0*int(Itot >= 0))",
}


def _fmt(x: float) -> str:
    return repr(float(x))


def check_supported(comp: Compiled) -> None:
    """Raise ``ValueError`` for circuit features the Brian2 rate engine cannot express."""
    c = comp.circuit
    ties = {p.name: p.tie for p in c.projections}
    for i, r in enumerate(c.rules):
        if r.kind == "oja" and ties.get(r.projection) is not None:
            raise ValueError(
                f"rules[{i}] ({r.name}).projection: {r.projection!r} is tied to "
                f"{ties[r.projection]!r}; the brian2 engine runs Oja's rule on owner "
                "(untied) projections only; allowed: put the rule on the owner"
            )
    seen: dict[int, int] = {}
    for k in range(len(c.rules)):
        p = int(comp.proj_w_off[comp.rule_proj[k]])  # rules on tied projections share W
        if comp.rule_kind[k] == OJA and p in seen:
            raise ValueError(
                f"rules[{k}] ({c.rules[k].name}): Oja's rule must be the first rule on "
                f"projection {comp.proj_names[int(comp.rule_proj[k])]!r} for the brian2 engine "
                "(Wᵀp is a summed variable computed once per step)"
            )
        seen.setdefault(p, k)


def step_tables(comp: Compiled, drive: Drive) -> dict[str, np.ndarray]:
    """Per-step arrays of a block (stimulus with gaps, label clamp, rule gates, noise)."""
    spp = comp.steps_per_presentation
    n_pres = drive.n_presentations
    n_steps = n_pres * spp
    k_in = np.arange(n_steps) % spp
    presenting = k_in < comp.present_steps
    stim = np.repeat(np.asarray(drive.stim, dtype=np.float64), spp, axis=0)
    stim[~presenting] = 0.0
    out: dict[str, np.ndarray] = {"stim": stim, "presenting": presenting}
    if comp.label_n > 0:
        if drive.labels is not None:
            lab = np.repeat(np.asarray(drive.labels, dtype=np.float64), spp, axis=0)
        else:
            lab = np.zeros((n_steps, comp.label_n))
        out["labels"] = lab
        out["labon"] = (presenting & bool(drive.clamp and drive.labels is not None)).astype(float)
    n_rules = len(comp.rule_names)
    if n_rules:
        step_open = comp.rules_active(np.arange(spp))
        gate = step_open[k_in] & (presenting & bool(drive.learn))[:, None]
        # the learning rate (lr * dt) rides in the gate, so that changing comp.rule_eta
        # between blocks (protocol.lr_decay) changes no generated code
        out["gate"] = gate.astype(np.float64) * np.asarray(comp.rule_eta, dtype=np.float64)
    noise = np.asarray(drive.noise, dtype=np.float64)
    if noise.shape[0] != n_steps:
        raise ValueError(
            f"drive.noise: {noise.shape[0]} rows; expected n_presentations x "
            f"steps_per_presentation = {n_steps}"
        )
    out["noise"] = noise if noise.shape[1] else np.zeros((n_steps, 1))
    return out


class RateNetwork:
    """The Brian2 objects of one block (built fresh for each :meth:`Brian2Engine.run`)."""

    def __init__(self, comp: Compiled, state: State, drive: Drive):
        self.comp = comp
        c = comp
        circ = c.circuit
        N, L = c.n_units, c.hist_len
        self.n_steps = drive.n_presentations * c.steps_per_presentation
        tab = step_tables(c, drive)
        dt = c.dt * b2.ms
        ta = {
            "stim": b2.TimedArray(tab["stim"], dt=dt, name="ntp_stim"),
            "noise": b2.TimedArray(tab["noise"], dt=dt, name="ntp_noise"),
        }
        if "labels" in tab:
            ta["labels"] = b2.TimedArray(tab["labels"], dt=dt, name="ntp_labels")
            ta["labon"] = b2.TimedArray(tab["labon"], dt=dt, name="ntp_labon")
        if "gate" in tab:
            ta["gate"] = b2.TimedArray(tab["gate"], dt=dt, name="ntp_gate")
        self.namespace = {v.name: v for v in ta.values()}

        n_proj = len(c.proj_names)
        owner = [circ.projection(p).tie for p in c.proj_names]
        owner_idx = [c.proj_names.index(o) if o is not None else p for p, o in enumerate(owner)]
        tied = [p for p in range(n_proj) if owner[p] is not None]
        codes = sorted(set(c.unit_act.tolist()))
        rules = range(len(c.rule_names))

        # ---- U: all units --------------------------------------------------------------
        eqs = [
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
        eqs += [f"a{code} : 1 (constant)" for code in codes]
        eqs += [f"I_{p} : 1" for p in range(n_proj)]
        for p in tied:
            eqs += [f"Ilk_{p} : 1 (linked)", f"mt_{p} : 1 (constant)"]
        # A rule's coefficients live on the post units of the *owner* projection (where its
        # synapses are); a rule on a tied projection reads its own post rates, targets and
        # traces through linked variables (y_k, tq_k_q, pt_k) and writes its bias back
        # through bl_k.
        rule_tied = [owner[int(c.rule_proj[k])] is not None for k in rules]
        for k in rules:
            kind = c.rule_kind[k]
            eqs.append(f"mask_{k} : 1 (constant)")
            if rule_tied[k]:
                eqs += [f"y_{k} : 1 (linked)", f"bl_{k} : 1 (linked)"]
            if kind == PREDICTION:
                eqs += [f"ca_{k} : 1", f"cb_{k} : 1", f"db_{k} : 1"]
                n_t = c.tgt_ptr[k + 1] - c.tgt_ptr[k]
                eqs += [f"tq_{k}_{q} : 1 (linked)" for q in range(n_t)]
            elif kind in (DELTA,):
                eqs += [f"d_{k} : 1", f"tq_{k}_0 : 1 (linked)"]
            elif kind in (RECONSTRUCTION, RECIRCULATION):
                eqs += [f"d_{k} : 1", f"pt_{k} : 1 (linked)"]
        U = b2.NeuronGroup(N, "\n".join(eqs), dt=dt, name="ntp_U")
        U.alpha = np.where(np.isin(c.unit_pop, np.nonzero(c.pop_role == 1)[0]), 0.0, c.unit_alpha)
        U.sigma = c.unit_sigma
        nidx = np.zeros(N, dtype=np.int64)
        nidx[c.noise_idx] = np.arange(len(c.noise_idx))
        U.nidx = nidx
        isin = np.zeros(N)
        isin[c.input_off : c.input_off + c.input_n] = 1.0
        U.isin = isin
        sidx = np.zeros(N, dtype=np.int64)
        sidx[c.input_off : c.input_off + c.input_n] = np.arange(c.input_n)
        U.sidx = sidx
        islab = np.zeros(N)
        lidx = np.zeros(N, dtype=np.int64)
        if c.label_n > 0:
            islab[c.label_off : c.label_off + c.label_n] = 1.0
            lidx[c.label_off : c.label_off + c.label_n] = np.arange(c.label_n)
        U.islab = islab
        U.lidx = lidx
        for code in codes:
            setattr(U, f"a{code}", (c.unit_act == code).astype(float))
        U.r = state.r
        U.b = state.b

        # ---- DL: the delay line ------------------------------------------------------------
        dl_eqs = ["r : 1", "tmp : 1", "isb0 : 1 (constant)", "rsrc : 1 (linked)"]
        if L > 1:
            dl_eqs.append("rsh : 1 (linked)")
        # Synapses cannot read index-linked variables of their groups: copy them into
        # plain variables (xtv_, xbv_) with run_regularly before the synapses need them
        for p in tied:
            dl_eqs += [f"xt_{p} : 1 (linked)", f"xtv_{p} : 1"]
        for k in rules:
            if c.rule_kind[k] == PREDICTION:
                dl_eqs += [f"xb_{k} : 1 (linked)", f"xbv_{k} : 1"]
            if c.rule_kind[k] == OJA:
                dl_eqs.append(f"back_{k} : 1")
        DL = b2.NeuronGroup(L * N, "\n".join(dl_eqs), dt=dt, name="ntp_DL")
        idx = np.arange(L * N)
        DL.isb0 = (idx < N).astype(float)
        DL.rsrc = b2.linked_var(U, "r", index=idx % N)
        if L > 1:
            DL.rsh = b2.linked_var(DL, "r", index=np.where(idx < N, idx, idx - N))
        t0 = state.t
        # before this block's first shift, block k holds r(t0 - 1 - k)
        DL.r = np.concatenate([state.hist[(t0 - 1 - k) % L] for k in range(L)])

        # ---- TR: traces ----------------------------------------------------------------
        M = c.n_trace_units
        TR = None
        if M > 0:
            TR = b2.NeuronGroup(
                M, "tr : 1\ntalpha : 1 (constant)\nsrc : 1 (linked)", dt=dt, name="ntp_TR"
            )
            talpha = np.zeros(M)
            tsrc = np.zeros(M, dtype=np.int64)
            for m in range(len(c.trace_names)):
                o, n = int(c.tr_off[m]), int(c.tr_n[m])
                talpha[o : o + n] = c.tr_alpha[m]
                tsrc[o : o + n] = int(c.tr_delay[m]) * N + int(c.tr_src_off[m]) + np.arange(n)
            TR.talpha = talpha
            TR.src = b2.linked_var(DL, "r", index=tsrc)
            TR.tr = state.tr

        # linked variables that need the groups to exist
        for p in tied:
            o = owner_idx[p]
            n_pre, n_post = int(c.proj_pre_n[p]), int(c.proj_post_n[p])
            # owner's presynaptic slots -> the tied projection's delayed presynaptic rates
            xi = idx.copy()
            src = int(c.proj_delay[o]) * N + int(c.proj_pre_off[o]) + np.arange(n_pre)
            xi[src] = int(c.proj_delay[p]) * N + int(c.proj_pre_off[p]) + np.arange(n_pre)
            setattr(DL, f"xt_{p}", b2.linked_var(DL, "r", index=xi))
            li = np.arange(N)
            mt = np.zeros(N)
            dst = int(c.proj_post_off[p]) + np.arange(n_post)
            li[dst] = int(c.proj_post_off[o]) + np.arange(n_post)
            mt[dst] = 1.0
            setattr(U, f"Ilk_{p}", b2.linked_var(U, f"I_{p}", index=li))
            setattr(U, f"mt_{p}", mt)
        for k in rules:
            kind = c.rule_kind[k]
            p = int(c.rule_proj[k])
            wp = owner_idx[p]  # the projection whose Synapses hold the weights
            own_post = int(c.proj_post_off[p]) + np.arange(int(c.proj_post_n[p]))
            post = int(c.proj_post_off[wp]) + np.arange(int(c.proj_post_n[wp]))
            mask = np.zeros(N)
            mask[own_post] = 1.0
            setattr(U, f"mask_{k}", mask)
            if rule_tied[k]:
                yi = np.arange(N)
                yi[post] = own_post
                setattr(U, f"y_{k}", b2.linked_var(U, "r", index=yi))
                bi = np.arange(N)
                bi[own_post] = post
                dbname = f"db_{k}" if kind == PREDICTION else f"d_{k}"
                setattr(U, f"bl_{k}", b2.linked_var(U, dbname, index=bi))
            if kind in (PREDICTION, DELTA):
                for q, jq in enumerate(range(c.tgt_ptr[k], c.tgt_ptr[k + 1])):
                    ti = np.arange(N)
                    ti[post] = int(c.tgt_off[jq]) + np.arange(len(post))
                    setattr(U, f"tq_{k}_{q}", b2.linked_var(U, "r", index=ti))
            if kind in (RECONSTRUCTION, RECIRCULATION):
                m = int(c.rule_trace[k])
                ti = np.zeros(N, dtype=np.int64)
                ti[post] = int(c.tr_off[m]) + np.arange(len(post))
                setattr(U, f"pt_{k}", b2.linked_var(TR, "tr", index=ti))
            if kind == PREDICTION:
                m = int(c.rule_trace[k])
                ti = np.zeros(L * N, dtype=np.int64)
                pre = (
                    int(c.proj_delay[wp]) * N
                    + int(c.proj_pre_off[wp])
                    + np.arange(int(c.proj_pre_n[wp]))
                )
                ti[pre] = int(c.tr_off[m]) + np.arange(len(pre))
                setattr(DL, f"xb_{k}", b2.linked_var(TR, "tr", index=ti))

        # ---- synapses: one per owner projection ------------------------------------------------
        order = 10
        objs: list[Any] = [U, DL] + ([TR] if TR is not None else [])
        syn: dict[int, Any] = {}
        for p in range(n_proj):
            if owner[p] is not None:
                continue
            model = ["w : 1", f"I_{p}_post = w*r_pre : 1 (summed)"]
            model += [f"I_{q}_post = w*xtv_{q}_pre : 1 (summed)" for q in tied if owner_idx[q] == p]
            model += [
                f"back_{k}_pre = w*r_post : 1 (summed)"
                for k in rules
                if c.rule_kind[k] == OJA and c.rule_proj[k] == p
            ]
            S = b2.Synapses(DL, U, "\n".join(model), dt=dt, name=f"ntp_S{p}")
            n_pre, n_post = int(c.proj_pre_n[p]), int(c.proj_post_n[p])
            a, j = np.divmod(np.arange(n_pre * n_post), n_pre)  # post-major = flat w order
            S.connect(
                i=int(c.proj_delay[p]) * N + int(c.proj_pre_off[p]) + j,
                j=int(c.proj_post_off[p]) + a,
            )
            off = int(c.proj_w_off[p])
            S.w = state.w[off : off + n_pre * n_post]
            syn[p] = S
            objs.append(S)
        self.syn = syn

        # ---- schedule ----------------------------------------------------------------------
        def rr(group: Any, code: str, name: str) -> None:
            nonlocal order
            group.run_regularly(code, when="start", order=order, name=f"ntp_{name}")
            order += 1

        rr(U, "r = isin*ntp_stim(t, sidx) + (1.0 - isin)*r", "clamp_in")
        if c.label_n > 0:
            rr(
                U,
                "r = islab*ntp_labon(t)*ntp_labels(t, lidx) + (1.0 - islab*ntp_labon(t))*r",
                "clamp_lab",
            )
        if L > 1:
            rr(DL, "tmp = isb0*rsrc + (1.0 - isb0)*rsh", "dl_shift")
        else:
            rr(DL, "tmp = rsrc", "dl_shift")
        rr(DL, "r = tmp", "dl_write")
        copies = [f"xtv_{p} = xt_{p}" for p in tied]
        copies += [f"xbv_{k} = xb_{k}" for k in rules if c.rule_kind[k] == PREDICTION]
        if copies:
            rr(DL, "\n".join(copies), "dl_copies")
        for S in syn.values():
            for name, upd in S.summed_updaters.items():
                if name.startswith("back_"):
                    continue
                upd.when = "start"
                upd.order = order
                order += 1
        terms = ["b"]
        for p in range(n_proj):
            terms.append(f"mt_{p}*Ilk_{p}" if owner[p] is not None else f"I_{p}")
        terms.append("sigma*ntp_noise(t, nidx)")
        rr(U, "Itot = " + " + ".join(terms), "current")
        coef = []
        for k in rules:
            kind = c.rule_kind[k]
            y = f"y_{k}" if rule_tied[k] else "r"
            if kind == PREDICTION:
                ws = c.tgt_w[c.tgt_ptr[k] : c.tgt_ptr[k + 1]]
                ca = " + ".join(f"{_fmt(wq)}*tq_{k}_{q}" for q, wq in enumerate(ws))
                sc = 0.0
                for wq in ws:
                    sc += float(wq)
                coef += [f"ca_{k} = {ca}", f"cb_{k} = {_fmt(sc)}*{y}", f"db_{k} = ca_{k} - cb_{k}"]
            elif kind == DELTA:
                coef.append(f"d_{k} = tq_{k}_0 - {y}")
            elif kind in (RECONSTRUCTION, RECIRCULATION):
                coef.append(f"d_{k} = pt_{k} - {y}")
        if coef:
            rr(U, "\n".join(coef), "coef")
        for k in rules:
            kind = c.rule_kind[k]
            p = int(c.rule_proj[k])
            S = syn[owner_idx[p]]
            g = f"ntp_gate(t, {k})"
            x = f"xtv_{p}_pre" if rule_tied[k] else "r_pre"
            if kind == PREDICTION:
                upd = f"w + {g}*(ca_{k}_post*xbv_{k}_pre - cb_{k}_post*{x})"
                db = f"db_{k}"
            elif kind == OJA:
                upd = f"w + {g}*r_post*(r_pre - back_{k}_pre)"
                db = None
                bu = S.summed_updaters[f"back_{k}_pre"]
                bu.when = "start"
                bu.order = order
                order += 1
            else:
                upd = f"w + {g}*(d_{k}_post*{x})"
                db = f"d_{k}"
            if rule_tied[k]:
                db = f"bl_{k}"
            lo, hi = c.rule_lo[k], c.rule_hi[k]
            if np.isfinite(lo) or np.isfinite(hi):
                upd = f"clip({upd}, {_fmt(lo) if np.isfinite(lo) else '-inf'}, " + (
                    f"{_fmt(hi) if np.isfinite(hi) else 'inf'})"
                )
            rr(S, f"w = {upd}", f"rule{k}")
            if c.rule_bias[k] and db is not None:
                rr(U, f"b = b + ({g}*mask_{k})*{db}", f"rule{k}_bias")
        if TR is not None:
            rr(TR, "tr = tr + talpha*(src - tr)", "traces")
        phi = " + ".join(f"a{code}*{_PHI_EXPR[code]}" for code in codes)
        free = "(1.0 - islab*ntp_labon(t))" if c.label_n > 0 else "1.0"
        rr(U, f"r = r + {free}*(alpha*(-r + ({phi})))", "rates")
        self.mon = b2.StateMonitor(U, "r", record=True, when="end", dt=dt, name="ntp_mon")
        objs.append(self.mon)
        self.U, self.DL, self.TR = U, DL, TR
        self.net = b2.Network(*objs, name="ntp_net")

    def duration(self) -> Any:
        return self.n_steps * self.comp.dt * b2.ms

    def read_state(self, state: State) -> np.ndarray:
        """Copy the network's state into ``state``; return the recorded rates (n_steps, N)."""
        c = self.comp
        N, L = c.n_units, c.hist_len
        state.r[:] = np.asarray(self.U.r[:])
        state.b[:] = np.asarray(self.U.b[:])
        if self.TR is not None:
            state.tr[:] = np.asarray(self.TR.tr[:])
        for p, S in self.syn.items():
            off = int(c.proj_w_off[p])
            n = int(c.proj_pre_n[p] * c.proj_post_n[p])
            state.w[off : off + n] = np.asarray(S.w[:])
        dl = np.asarray(self.DL.r[:]).reshape(L, N)
        t1 = state.t + self.n_steps
        for k in range(L):
            state.hist[(t1 - 1 - k) % L] = dl[k]
        state.t = t1
        return np.asarray(self.mon.r[:]).T


def run_result(
    comp: Compiled,
    rates: np.ndarray,
    n_pres: int,
    record_every: int,
    record_units: np.ndarray | None,
) -> RunResult:
    """Readout means and the decimated record from the per-step rates (n_steps, N)."""
    spp = comp.steps_per_presentation
    r0, r1 = comp.readout_win
    per = rates.reshape(n_pres, spp, -1)
    means = per[:, r0:r1].sum(axis=1) / (r1 - r0)
    rec = None
    if record_every:
        units = slice(None) if record_units is None else np.asarray(record_units, dtype=np.int64)
        rec = rates[::record_every][:, units].copy()
    return RunResult(means=means, record=rec)


class Brian2Engine(Engine):
    """Brian2 backend: rate mode equal to the Numba engine; spiking populations too.

    ``target`` is the Brian2 code-generation target: ``numpy``, ``cython`` (runtime) or
    ``cpp_standalone`` (the whole block is generated as C++, compiled and run once per
    :meth:`run`); default ``$NEUROTP_BRIAN2_TARGET`` or ``numpy``. ``spiking`` overrides the
    circuit's spiking parameters (``circuit.spiking``: max_rate, tau_syn, tau_m; see
    :class:`neurotp.engines.brian2_spiking.SpikingRunner`).
    ``timings`` holds the last run's build / compile / loop seconds.
    """

    name = "brian2"
    supports_spiking = True

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        target: str | None = None,
        spiking: dict | None = None,
    ):
        if target is None:  # callers that know only (comp, dtype, state), e.g. Simulation
            target = os.environ.get("NEUROTP_BRIAN2_TARGET", "numpy")
        if np.dtype(dtype) != np.float64:
            raise ValueError(
                f"dtype: {np.dtype(dtype)} not supported by the brian2 engine; allowed: float64"
            )
        if target not in TARGETS:
            raise ValueError(
                f"target: unknown Brian2 target {target!r}; allowed: {', '.join(TARGETS)}"
            )
        super().__init__(comp, dtype, state)
        self.target = target
        self.timings: dict[str, float] = {}
        self.is_spiking = any(p.model != "rate" for p in comp.circuit.populations)
        self._spiking = None
        if self.is_spiking:
            from neurotp.engines.brian2_spiking import SpikingRunner

            params = dataclasses.asdict(comp.circuit.spiking)  # the circuit's, then overrides
            params.update(spiking or {})
            self._spiking = SpikingRunner(comp, self.state, target=target, **params)
        else:
            check_supported(comp)

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        if self._spiking is not None:
            res = self._spiking.run(drive, record_every, record_units)
            self.timings = dict(self._spiking.timings)
            return res
        c = self.comp
        n_pres = drive.n_presentations
        if self.target == "cpp_standalone":
            rates = self._run_standalone(drive)
        else:
            b2.prefs.codegen.target = self.target
            b2.start_scope()
            tb = time.perf_counter()
            rn = RateNetwork(c, self.state, drive)
            tc = time.perf_counter()
            rn.net.run(rn.duration(), namespace=rn.namespace)
            te = time.perf_counter()
            rates = rn.read_state(self.state)
            from brian2.devices.device import get_device

            loop = float(getattr(get_device(), "_last_run_time", te - tc))
            # compile = code generation (+ Cython compilation or cache load) in before_run
            self.timings = {"build": tc - tb, "compile": max(te - tc - loop, 0.0), "loop": loop}
        bad = ~np.isfinite(rates)
        if bad.any():
            step, unit = np.argwhere(bad)[0]
            raise self._divergence(int(self.state.t - len(rates) + step + 1), int(unit))
        return run_result(c, rates, n_pres, record_every, record_units)

    def _run_standalone(self, drive: Drive) -> np.ndarray:
        from brian2.devices.device import device, reset_device, set_device

        directory = os.environ.get("NEUROTP_BRIAN2_BUILD") or os.path.join(
            tempfile.gettempdir(), f"neurotp_brian2_{os.getuid()}_{os.getpid()}"
        )
        set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            device.reinit()
            device.activate(directory=directory, build_on_run=False)
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
            tb = time.perf_counter()
            rn = RateNetwork(self.comp, self.state, drive)
            rn.net.run(rn.duration(), namespace=rn.namespace)
            device.build(directory=directory, compile=False, run=False)
            tc = time.perf_counter()
            device.compile_source(directory, compiler="gcc", clean=False, debug=False)
            tr_ = time.perf_counter()
            device.run(directory, with_output=False, run_args=[])
            te = time.perf_counter()
            loop = float(getattr(device, "_last_run_time", te - tr_) or (te - tr_))
            rates = rn.read_state(self.state)
            self.timings = {
                "build": tc - tb,
                "compile": tr_ - tc,
                "loop": loop,
                "run_process": te - tr_,
            }
        finally:
            device.reinit()
            reset_device("runtime")
        return rates
