"""Spiking populations for the Brian2 engine (``model: poisson`` or ``model: lif``).

Every population of a spiking circuit becomes a Brian2 ``NeuronGroup`` of spiking units whose
*rate* follows the rate model of the circuit, and every projection a ``Synapses`` object that
transmits spikes with Brian2's own axonal delays (``on_pre`` with ``delay``):

- rate state: τ·dr/dt = −r + φ(I), I = b + Σ_p I_p + σ·ξ (Euler, as in rate mode);
- encoding: each unit fires at ν = ν_max·clip((r − lo)/(hi − lo), 0, 1); [lo, hi] is [0, 1]
  for sigmoid/step/relu units and [−1, 1] (an offset) for tanh/sign/linear units;
  ``poisson`` units fire with probability ν·dt per step; ``lif`` units are leaky
  integrate-and-fire neurons (τ_m·dv/dt = −v + τ_m·J, threshold 1, reset by subtraction so
  that spike times are not rounded to whole steps) whose drive J = 1/(τ_m·(1 − exp(−1/(ν·τ_m))))
  makes them fire regularly at ν (τ_m = 50 ms: within 2.3 Hz of ν for ν ≤ 200 Hz, dt = 1 ms);
- decoding: a presynaptic spike adds (hi − lo)·w·a(τ_s) to the postsynaptic current I_p,
  which decays with τ_s; with the offset term lo·Σ_j w_ij (a summed variable) this makes
  E[I_p] = Σ_j w_ij·x̂_j(t − d), the rate-mode current, x̂ = lo + (hi − lo)·ν/ν_max. Every
  trace uses the discrete-time increment a(τ) = (1 − exp(−dt/τ))/(ν_max·dt)
  (:meth:`SpikingRunner.spike_increment`), so that its mean read once per step is exact;
- rules in STDP-like form (:mod:`neurotp.engines.brian2.spiking_rules`): every factor of a
  rule's general form decoded from exponential traces updated on spikes (fast traces, τ_s,
  for ``post``/``pre``/``rate:``/``apical``, slow ones, τ of the trace, for ``trace:NAME``).
  Each dt the open rules move the weights by lr·dt·(Σ cₖ·Aₖ·a − c_B·B·b): the same moving
  averages as section 8, read from spikes. A rule's bounds apply only where it does;
- compartments (``POP.apical``): a group of spiking units like any population (its own τ, φ
  and encoding, the model of its population), fed by the projections into ``POP.apical``,
  read by projections and traces from it; the soma's current gets gain·(a − ā), a the
  decoded fast trace of the compartment's spikes and ā its ``rest`` trace, also decoded from
  those spikes, so that the nudge cancels at rest on average (both means are exact);
- time in a presentation: the stimulus frame and the label clamp (from ``label_delay``) of
  each step come from :func:`neurotp.engines.brian2.drive.step_tables`, as in rate mode.

Ties are kept by copying the owner's weights to the tied ``Synapses`` after the rules each
step (a ``network_operation``), so spiking circuits run on the runtime targets (``numpy``,
``cython``), not ``cpp_standalone``. Oja's rule runs on owner projections; rules on tied
projections are rate-mode only. Readout means are decoded spike counts over the readout
window. The runner keeps its network across runs but no state: each run loads the rates,
biases and weights of the state it is given (a resumed checkpoint) and writes them back.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import brian2 as b2
import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import rule_form
from neurotp.circuit.spec import COMPARTMENT_SUFFIX, Population, unit_of
from neurotp.engines.base import DivergenceError, RunResult
from neurotp.engines.brian2.drive import PHI, step_tables
from neurotp.engines.brian2.forms import RuleCode
from neurotp.engines.brian2.spiking_rules import SpikingRules, decoded

_UNSIGNED = ("sigmoid", "step", "relu")


def encoding_range(activation: str) -> tuple[float, float]:
    """The rate interval [lo, hi] mapped onto spike rates [0, ν_max]."""
    return (0.0, 1.0) if activation in _UNSIGNED else (-1.0, 1.0)


def spiking_units(groups: list[Population]) -> list[Population]:
    """The unit groups of a spiking circuit (``Circuit.groups()``): its populations, then its
    compartments, each spiking with the model of the population it belongs to."""
    model = {p.name: p.model for p in groups if not p.name.endswith(COMPARTMENT_SUFFIX)}
    return [dataclasses.replace(p, model=model[unit_of(p.name)]) for p in groups]


class SpikingRunner:
    """Builds the spiking network once and runs drives on it, from and into a given state."""

    def __init__(
        self,
        comp: Compiled,
        target: str = "numpy",
        max_rate: float = 200.0,
        tau_syn: float = 5.0,
        tau_m: float = 50.0,
        seed: int | None = None,
    ):
        if target == "cpp_standalone":
            raise ValueError(
                "target: spiking circuits use network_operations (inputs, ties); "
                "allowed: numpy, cython"
            )
        if max_rate <= 0 or tau_syn <= 0 or tau_m <= 0:
            raise ValueError(
                f"spiking: max_rate={max_rate} Hz, tau_syn={tau_syn} ms, tau_m={tau_m} ms "
                "must all be > 0"
            )
        c = comp.circuit
        for i, r in enumerate(c.rules):
            pr = c.projection(r.projection)
            if pr.tie is not None:
                raise ValueError(
                    f"rules[{i}] ({r.name}).projection: {r.projection!r} is tied; spiking "
                    "circuits allow rules on owner projections only"
                )
        rate_pops = [p.name for p in c.populations if p.model == "rate"]
        if rate_pops:
            raise ValueError(
                f"populations {rate_pops}: model 'rate' mixed with spiking populations; in a "
                "spiking circuit set model: poisson or lif on every population"
            )
        self.comp = comp
        self.target = target
        self.max_rate = float(max_rate)
        self.tau_syn = float(tau_syn)
        self.tau_m = float(tau_m)
        self.seed = c.seed if seed is None else seed
        self.units = spiking_units(c.groups())
        self.ranges = {p.name: encoding_range(p.activation) for p in self.units}
        self.timings: dict[str, float] = {}
        self.net: Any = None
        self.last_spikes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def spike_increment(self, tau: float) -> float:
        """What one spike adds to an exponential trace of time constant ``tau`` (ms).

        The trace decays exactly, by exp(−dt/τ) per step, and is read at the start of the
        step after the spike's increment, so at a steady rate ν its mean is
        a·ν·dt/(1 − exp(−dt/τ)). a = (1 − exp(−dt/τ))/(ν_max·dt) makes that mean ν/ν_max
        exactly; the continuous-time 1/(ν_max·τ) overestimates it by the factor
        (dt/τ)/(1 − exp(−dt/τ)) (1.103 for τ = 5 ms, dt = 1 ms), which the offset lo·Σw of
        tanh/linear presynaptic populations turns into a bias of the current, not a gain.
        """
        dt = self.comp.dt
        return float(-np.expm1(-dt / tau) / (self.max_rate * dt / 1000.0))

    # ---- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        b2.prefs.codegen.target = self.target
        b2.seed(self.seed)
        dt = self.comp.dt * b2.ms
        self.ns: dict[str, Any] = {
            "numax": self.max_rate * b2.Hz,
            "taus": self.tau_syn * b2.ms,
            "taum": self.tau_m * b2.ms,
        }
        self.rules = SpikingRules(self.comp, self.ranges)
        self.groups = self._build_groups(dt)
        self.syn = self._build_synapses(dt)
        tie_op = self._build_schedule(dt)
        objs = [*self.groups.values(), *self.syn.values(), *([tie_op] if tie_op else [])]
        self.net = b2.Network(*objs, name="ntps_net")

    def _build_groups(self, dt: Any) -> dict[str, Any]:
        """One ``NeuronGroup`` per population: rate state, encoding, decoded fast trace, the
        currents of its incoming projections, its slow traces, its rules' coefficients."""
        circ = self.comp.circuit
        inc = self.spike_increment
        incoming = {p.name: [] for p in self.units}
        for q, pr in enumerate(circ.projections):
            incoming[pr.post].append(q)
        groups: dict[str, Any] = {}
        for pi, p in enumerate(self.units):
            eqs = ["r : 1", "b : 1", "Itot : 1", "nz : 1", "clampv : 1", "clampon : 1"]
            eqs += ["nu : Hz", "xdec : 1", "dxf/dt = -xf/taus : 1"]
            eqs += ["fb : 1", "rmax : 1 (constant, shared)"]
            for q in incoming[p.name]:
                eqs += [f"dI_{q}/dt = -I_{q}/taus : 1", f"ws_{q} : 1"]
            own = [m for m, t in enumerate(circ.traces) if t.population == p.name]
            eqs += [f"dtr_{m}/dt = -tr_{m}/({circ.traces[m].tau}*ms) : 1" for m in own]
            eqs += [f"{v} : 1" for v in self.rules.variables[p.name]]
            for k, r in enumerate(circ.rules):
                if rule_form(r) is None and circ.projection(r.projection).pre == p.name:
                    eqs.append(f"back_{k} : 1")
            if p.model == "lif":
                eqs += ["dv/dt = -v/taum + J : 1", "J : Hz"]
                threshold, reset = "v > 1", "v -= 1.0\n"
            else:
                threshold, reset = "rand() < nu*dt", ""
            reset += f"xf += {inc(self.tau_syn)!r}"
            reset += "".join(f"\ntr_{m} += {inc(circ.traces[m].tau)!r}" for m in own)
            groups[p.name] = b2.NeuronGroup(
                p.size,
                "\n".join(eqs),
                threshold=threshold,
                reset=reset,
                method="exact",
                dt=dt,
                name=f"ntps_{pi}",
                namespace=self.ns,
            )
            # the largest float, as a variable: Brian2 would print the literal as inf
            groups[p.name].rmax = np.finfo(np.float64).max
        for post, name, src, var in self.rules.refs:
            groups[post].variables.add_reference(name, groups[src], var)
        for p in circ.populations:  # the soma reads its compartment's rate and rest trace
            if p.apical is not None:
                ap = groups[p.name + COMPARTMENT_SUFFIX]
                groups[p.name].variables.add_reference("ca", ap, "xdec")
                if p.apical.rest is not None:
                    m = circ.traces.index(circ.trace(p.apical.rest))
                    groups[p.name].variables.add_reference("crest", ap, f"tr_{m}")
        return groups

    def _nudge(self, name: str) -> str:
        """The compartment's term of population ``name``'s current, gain·(a − ā) with a and ā
        decoded from the compartment's spikes (its fast trace, its rest trace); "" if none."""
        p = self.comp.circuit.population(name)
        if p.role == "compartment" or p.apical is None:
            return ""
        lo, hi = self.ranges[p.name + COMPARTMENT_SUFFIX]
        rest = "" if p.apical.rest is None else f" - {decoded(lo, hi, 'crest')}"
        return f" + {float(p.apical.gain)!r}*(ca{rest})"

    def _build_synapses(self, dt: Any) -> dict[int, Any]:
        """One ``Synapses`` per projection, all-to-all, with the projection's delay: the
        spike current, the offset lo·Σw, and for ruled projections the per-synapse traces."""
        circ = self.comp.circuit
        inc = self.spike_increment
        syn: dict[int, Any] = {}
        for q, pr in enumerate(circ.projections):
            pre, post = self.groups[pr.pre], self.groups[pr.post]
            lo, hi = self.ranges[pr.pre]
            model = ["w : 1", f"ws_{q}_post = {lo!r}*w : 1 (summed)"]
            on_pre = [f"I_{q}_post += {(hi - lo) * inc(self.tau_syn)!r}*w"]
            ruled = [k for k, r in enumerate(circ.rules) if r.projection == pr.name]
            if ruled:
                model.append("dxs/dt = -xs/taus : 1 (clock-driven)")
                on_pre.append(f"xs += {inc(self.tau_syn)!r}")
            for m in self.rules.syn_traces[q]:
                tau = circ.traces[m].tau
                model.append(f"dxt_{m}/dt = -xt_{m}/({tau}*ms) : 1 (clock-driven)")
                on_pre.append(f"xt_{m} += {inc(tau)!r}")
            for k in ruled:
                if rule_form(circ.rules[k]) is None:
                    model.append(f"back_{k}_pre = w*xdec_post : 1 (summed)")
            S = b2.Synapses(
                pre,
                post,
                "\n".join(model),
                on_pre="\n".join(on_pre),
                delay=pr.delay * b2.ms,
                method="exact",
                dt=dt,
                name=f"ntps_S{q}",
                namespace=self.ns,
            )
            a, j = np.divmod(np.arange(pre.N * post.N), pre.N)
            S.connect(i=j, j=a)
            syn[q] = S
        return syn

    def _build_schedule(self, dt: Any) -> Any:
        """Per step, at ``start``: inputs, decoded traces, currents, rule coefficients, rules,
        rates (and the LIF drive); at ``end`` the first non-finite step of each unit. Returns
        the tie ``network_operation`` (or None)."""
        circ = self.comp.circuit
        groups, syn = self.groups, self.syn
        order = 0

        def rr(g: Any, code: str, name: str) -> None:
            nonlocal order
            g.run_regularly(code, when="start", order=order, name=f"ntps_{name}")
            order += 1

        # the drive: TimedArrays (put into the namespace by run()) read at t - ntps_t0
        proto = circ.protocol
        rr(groups[proto.input], "clampon = 1.0\nclampv = ntps_stim(t - ntps_t0, i)", "stim")
        if proto.label is not None:
            lab = "clampon = ntps_labon(t - ntps_t0)\nclampv = ntps_labels(t - ntps_t0, i)"
            rr(groups[proto.label], lab, "labels")
        for pi, p in enumerate(self.units):
            if p.noise > 0:
                rr(groups[p.name], f"nz = ntps_noise{pi}(t - ntps_t0, i)", f"noise{pi}")
        incoming = {p.name: [] for p in self.units}
        for q, pr in enumerate(circ.projections):
            incoming[pr.post].append(q)
        for pi, p in enumerate(self.units):  # every decoded rate first: somata read their
            lo, hi = self.ranges[p.name]  # compartments' (the nudge) in their currents
            rr(groups[p.name], f"xdec = {lo!r} + {hi - lo!r}*xf", f"dec{pi}")
        for pi, p in enumerate(self.units):
            terms = ["b"] + [f"I_{q} + ws_{q}" for q in incoming[p.name]]
            cur = "Itot = " + " + ".join(terms) + f" + {p.noise!r}*nz" + self._nudge(p.name)
            rr(groups[p.name], cur, f"cur{pi}")
        for k, r in enumerate(circ.rules):
            code = self.rules.code[k]
            if isinstance(code, RuleCode):
                rr(groups[circ.projection(r.projection).post], code.coef, f"coef{k}")
        for k, r in enumerate(circ.rules):
            q = circ.projections.index(circ.projection(r.projection))
            code = self.rules.code[k]
            if isinstance(code, str):  # Oja: Wᵀp just before the rule
                upd = syn[q].summed_updaters[f"back_{k}_pre"]
                upd.when, upd.order = "start", order
                order += 1
                rr(syn[q], code, f"rule{k}")
                continue
            rr(syn[q], code.weights, f"rule{k}")
            if code.bias is not None:
                G = groups[circ.projection(r.projection).post]
                rr(G, f"b = b + ntps_gate(t - ntps_t0, {k})*{code.bias}", f"bias{k}")
        for pi, p in enumerate(self.units):
            G = groups[p.name]
            lo, hi = self.ranges[p.name]
            alpha = self.comp.dt / p.tau
            rr(
                G,
                f"r = clampon*clampv + (1.0 - clampon)*(r + {alpha!r}*(-r + ({PHI[p.activation]})))"
                f"\nnu = numax*clip((r - {lo!r})/{hi - lo!r}, 0.0, 1.0)",
                f"rate{pi}",
            )
            if p.model == "lif":
                rr(G, "J = (1.0/taum)/(1.0 - exp(-1.0/((nu + 1e-6*Hz)*taum)))", f"lif{pi}")
            # fb: the first step after which r was not finite (-1: none yet)
            G.run_regularly(
                "fb = fb + int(fb < 0)*(1.0 - int(abs(r) <= rmax))*(timestep(t, dt) - fb)",
                when="end",
                name=f"ntps_finite{pi}",
            )
        names = [x.name for x in circ.projections]
        self._ties = [(q, names.index(pr.tie)) for q, pr in enumerate(circ.projections) if pr.tie]
        if not self._ties:
            return None
        return b2.NetworkOperation(self._sync_ties, when="start", order=order, dt=dt)

    def _sync_ties(self) -> None:
        for q, o in self._ties:
            dst = self.syn[q].variables["w"].get_value()
            dst[:] = self.syn[o].variables["w"].get_value()

    # ---- state ------------------------------------------------------------------------
    def _load(self, state: State) -> None:
        c = self.comp
        for q, S in self.syn.items():
            off = int(c.proj_w_off[q])
            n = int(c.proj_pre_n[q] * c.proj_post_n[q])
            S.w_[:] = state.w[off : off + n]
        for p in self.units:
            G = self.groups[p.name]
            G.r_[:] = state.r[c.pop_slice(p.name)]
            G.b_[:] = state.b[c.pop_slice(p.name)]
            G.fb_[:] = -1.0

    def _save(self, state: State) -> None:
        c = self.comp
        for q, S in self.syn.items():
            if c.circuit.projections[q].tie is not None:
                continue
            off = int(c.proj_w_off[q])
            n = int(c.proj_pre_n[q] * c.proj_post_n[q])
            state.w[off : off + n] = S.w_[:]
        for p in self.units:
            G = self.groups[p.name]
            state.r[c.pop_slice(p.name)] = G.r_[:]
            state.b[c.pop_slice(p.name)] = G.b_[:]

    def _set_drive(self, drive: Drive) -> None:
        c = self.comp
        tab = step_tables(c, drive)
        dt = c.dt * b2.ms
        ns = self.ns
        ns["ntps_t0"] = self.net.t
        for key in ("stim", "labels", "labon", "gate", "open"):
            if key in tab:
                ns[f"ntps_{key}"] = b2.TimedArray(tab[key], dt=dt, name=f"ntps_{key}")
        pos = {int(u): j for j, u in enumerate(c.noise_idx)}
        for pi, p in enumerate(self.units):
            if p.noise > 0:
                sl = c.pop_slice(p.name)
                cols = np.array([pos[u] for u in range(sl.start, sl.stop)], dtype=np.int64)
                ns[f"ntps_noise{pi}"] = b2.TimedArray(
                    np.ascontiguousarray(tab["noise"][:, cols]), dt=dt, name=f"ntps_noise{pi}"
                )

    def _first_divergence(self, start_step: int) -> tuple[int, str] | None:
        """(steps into the run after which a rate was first not finite, population) or None;
        the lowest unit of the earliest step."""
        first: tuple[int, int, str] | None = None
        for pi, p in enumerate(self.units):
            fb = np.asarray(self.groups[p.name].fb_[:])
            bad = fb[fb >= 0]
            if len(bad) and (first is None or int(bad.min()) < first[0]):
                first = (int(bad.min()), pi, p.name)
        if first is None:
            return None
        return first[0] - start_step + 1, first[2]

    # ---- a drive ------------------------------------------------------------------------------
    def run(
        self,
        state: State,
        drive: Drive,
        record_every: int = 0,
        record_units: np.ndarray | None = None,
    ) -> RunResult:
        """Run ``drive`` from ``state`` (rates, biases, weights) and write the result back
        into it; :class:`DivergenceError` names the time and population if a rate became
        NaN/inf (``state`` then holds the non-finite values)."""
        c = self.comp
        t0 = time.perf_counter()
        if self.net is None:
            self._build()
        self._load(state)
        spp = c.steps_per_presentation
        n_pres = drive.n_presentations
        n_steps = n_pres * spp
        self._set_drive(drive)
        mons = []
        if record_every:
            for pi, p in enumerate(self.units):
                m = b2.StateMonitor(
                    self.groups[p.name],
                    "r",
                    record=True,
                    when="end",
                    dt=record_every * c.dt * b2.ms,
                    name=f"ntps_rec{pi}",
                )
                mons.append(m)
                self.net.add(m)
        spk = {}
        for pi, p in enumerate(self.units):
            spk[p.name] = b2.SpikeMonitor(self.groups[p.name], name=f"ntps_spk{pi}")
            self.net.add(spk[p.name])
        start_ms = float(self.net.t / b2.ms)
        start_step = int(round(start_ms / c.dt))
        tb = time.perf_counter()
        b2.prefs.codegen.target = self.target
        self.net.run(n_steps * c.dt * b2.ms, namespace=self.ns)
        te = time.perf_counter()
        self._save(state)
        t_before = state.t
        state.t += n_steps
        means = self._readout(spk, start_ms, n_pres)
        rec = None
        if record_every:
            rec = np.concatenate([np.asarray(m.r[:]).T for m in mons], axis=1)
            if record_units is not None:
                rec = rec[:, np.asarray(record_units, dtype=np.int64)]
        for m in [*mons, *spk.values()]:
            self.net.remove(m)
        self.timings = {"build": tb - t0, "compile": 0.0, "loop": te - tb}
        bad = self._first_divergence(start_step)
        if bad is not None:
            raise DivergenceError((t_before + bad[0]) * c.dt, bad[1])
        return RunResult(means=means, record=rec)

    def _readout(self, spk: dict[str, Any], start_ms: float, n_pres: int) -> np.ndarray:
        """Decoded spike counts per presentation over the readout window (n_pres, N); keeps
        this run's spikes in ``last_spikes`` (unit, ms from the run's start)."""
        c = self.comp
        spp = c.steps_per_presentation
        r0, r1 = c.readout_win
        means = np.zeros((n_pres, c.n_units))
        self.last_spikes = {}
        for p in self.units:
            m = spk[p.name]
            i_sp = np.asarray(m.i[:])
            t_sp = np.asarray(m.t[:] / b2.ms) - start_ms
            keep = t_sp >= -1e-9
            i_sp, t_sp = i_sp[keep], t_sp[keep]
            self.last_spikes[p.name] = (i_sp, t_sp)
            step = np.floor(t_sp / c.dt + 1e-6).astype(np.int64)
            pres, k = np.divmod(step, spp)
            sel = (k >= r0) & (k < r1) & (pres < n_pres)
            cnt = np.zeros((n_pres, p.size))
            np.add.at(cnt, (pres[sel], i_sp[sel]), 1.0)
            lo, hi = self.ranges[p.name]
            frac = cnt / (self.max_rate * (r1 - r0) * c.dt / 1000.0)
            means[:, c.pop_slice(p.name)] = lo + (hi - lo) * frac
        return means
