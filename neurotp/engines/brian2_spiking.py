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
- traces and rules (section 8) in STDP-like form: exponential traces updated on spikes —
  per synapse a fast trace x (τ_s) and the slow pre trace x̄ (the rule's trace τ), both
  incremented when the delayed presynaptic spike arrives; per neuron a fast trace of its
  own spikes (the rate p read by the rules) and slow traces (τ of the circuit's traces, the
  forward trace p̄ᶠ). Each dt the open rules move the weights by lr·dt·(T·x̄ − p·x)
  (prediction) or lr·dt·(p̄ᶠ − p)·x (reconstruction), with every factor decoded from those
  traces: the same moving averages as section 8, read from spikes.

Ties are kept by copying the owner's weights to the tied ``Synapses`` after the rules each
step (a ``network_operation``), so spiking circuits run on the runtime targets (``numpy``,
``cython``), not ``cpp_standalone``. Oja's rule and rules on tied projections are rate-mode
only. Readout means are decoded spike counts over the readout window.
"""

from __future__ import annotations

import time
from typing import Any

import brian2 as b2
import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import RunResult

PREDICTION, RECONSTRUCTION, DELTA, OJA, RECIRCULATION = 0, 1, 2, 3, 4
_UNSIGNED = ("sigmoid", "step", "relu")
_PHI = {
    "linear": "Itot",
    "tanh": "tanh(Itot)",
    "sigmoid": "0.5*(1.0 + tanh(0.5*Itot))",
    "relu": "Itot*int(Itot > 0)",
    "sign": "2.0*int(Itot >= 0) - 1.0",
    "step": "1.0*int(Itot >= 0)",
}


def encoding_range(activation: str) -> tuple[float, float]:
    """The rate interval [lo, hi] mapped onto spike rates [0, ν_max]."""
    return (0.0, 1.0) if activation in _UNSIGNED else (-1.0, 1.0)


class SpikingRunner:
    """Builds the spiking network once and runs blocks of presentations on it."""

    def __init__(
        self,
        comp: Compiled,
        state: State,
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
        self.state = state
        self.target = target
        self.max_rate = float(max_rate)
        self.tau_syn = float(tau_syn)
        self.tau_m = float(tau_m)
        self.seed = c.seed if seed is None else seed
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
        c = self.comp
        circ = c.circuit
        dt = c.dt * b2.ms
        numax = self.max_rate * b2.Hz
        taus = self.tau_syn * b2.ms
        taum = self.tau_m * b2.ms
        self.ns: dict[str, Any] = {"numax": numax, "taus": taus, "taum": taum}
        inc = self.spike_increment
        pops = circ.populations
        self.ranges = {p.name: encoding_range(p.activation) for p in pops}
        incoming: dict[str, list[int]] = {p.name: [] for p in pops}
        for k, pr in enumerate(circ.projections):
            incoming[pr.post].append(k)
        traces_of: dict[str, list[int]] = {p.name: [] for p in pops}
        for m, tr in enumerate(circ.traces):
            traces_of[tr.population].append(m)
        rules_on: dict[str, list[int]] = {p.name: [] for p in pops}
        for k, r in enumerate(circ.rules):
            rules_on[circ.projection(r.projection).post].append(k)

        groups: dict[str, Any] = {}
        for pi, p in enumerate(pops):
            lo, hi = self.ranges[p.name]
            eqs = [
                "r : 1",
                "b : 1",
                "Itot : 1",
                "nz : 1",
                "clampv : 1",
                "clampon : 1",
                "nu : Hz",
                "xdec : 1",
                "dxf/dt = -xf/taus : 1",
            ]
            for q in incoming[p.name]:
                eqs += [f"dI_{q}/dt = -I_{q}/taus : 1", f"ws_{q} : 1"]
            for m in traces_of[p.name]:
                eqs += [f"dtr_{m}/dt = -tr_{m}/({circ.traces[m].tau}*ms) : 1"]
            for k in rules_on[p.name]:
                eqs += [f"tq_{k} : 1"]
            for k, r in enumerate(circ.rules):
                if r.kind == "oja" and circ.projection(r.projection).pre == p.name:
                    eqs.append(f"back_{k} : 1")
            if p.model == "lif":
                eqs += ["dv/dt = -v/taum + J : 1", "J : Hz"]
                threshold, reset = "v > 1", "v -= 1.0"
            else:
                threshold, reset = "rand() < nu*dt", ""
            reset += ("\n" if reset else "") + f"xf += {inc(self.tau_syn)!r}"
            for m in traces_of[p.name]:
                reset += f"\ntr_{m} += {inc(circ.traces[m].tau)!r}"
            G = b2.NeuronGroup(
                p.size,
                "\n".join(eqs),
                threshold=threshold,
                reset=reset,
                method="exact",
                dt=dt,
                name=f"ntps_{pi}",
                namespace=self.ns,
            )
            groups[p.name] = G

        syn: dict[int, Any] = {}
        for q, pr in enumerate(circ.projections):
            pre, post = groups[pr.pre], groups[pr.post]
            lo, hi = self.ranges[pr.pre]
            model = ["w : 1"]
            model.append(f"ws_{q}_post = {lo!r}*w : 1 (summed)")
            on_pre = [f"I_{q}_post += {(hi - lo) * inc(self.tau_syn)!r}*w"]
            ruled = [k for k, r in enumerate(circ.rules) if r.projection == pr.name]
            if ruled:
                model.append("dxs/dt = -xs/taus : 1 (clock-driven)")
                on_pre.append(f"xs += {inc(self.tau_syn)!r}")
            for k in ruled:
                r = circ.rules[k]
                if r.kind == "oja":
                    model.append(f"back_{k}_pre = w*xdec_post : 1 (summed)")
                if r.kind == "prediction":
                    tau = circ.trace(r.pre_trace).tau
                    model.append(f"dxb_{k}/dt = -xb_{k}/({tau}*ms) : 1 (clock-driven)")
                    on_pre.append(f"xb_{k} += {inc(tau)!r}")
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
            n_pre, n_post = pre.N, post.N
            a, j = np.divmod(np.arange(n_pre * n_post), n_pre)
            S.connect(i=j, j=a)
            syn[q] = S
        self.groups, self.syn = groups, syn

        # per step, at 'start': inputs (network_operation), currents, rates, rules
        order = 0

        def rr(g: Any, code: str, name: str) -> None:
            nonlocal order
            g.run_regularly(code, when="start", order=order, name=f"ntps_{name}")
            order += 1

        # the drive of a block: TimedArrays (put into the namespace by run()) read at
        # t - ntps_t0, the block's start
        proto = circ.protocol
        rr(groups[proto.input], "clampon = 1.0\nclampv = ntps_stim(t - ntps_t0, i)", "stim")
        if proto.label is not None:
            rr(
                groups[proto.label],
                "clampon = ntps_labon(t - ntps_t0)\nclampv = ntps_labels(t - ntps_t0, i)",
                "labels",
            )
        for pi, p in enumerate(pops):
            if p.noise > 0:
                rr(groups[p.name], f"nz = ntps_noise{pi}(t - ntps_t0, i)", f"noise{pi}")
        for pi, p in enumerate(pops):
            G = groups[p.name]
            lo, hi = self.ranges[p.name]
            terms = ["b"] + [f"I_{q} + ws_{q}" for q in incoming[p.name]]
            alpha = c.dt / p.tau
            rr(G, f"xdec = {lo!r} + {hi - lo!r}*xf", f"dec{pi}")
            rr(G, "Itot = " + " + ".join(terms) + f" + {p.noise!r}*nz", f"cur{pi}")
        # targets and forward traces, decoded, copied next to the rule's post units
        for k, r in enumerate(circ.rules):
            pr = circ.projection(r.projection)
            G = groups[pr.post]
            if r.kind == "oja":
                continue
            if r.kind in ("prediction", "delta"):
                src = groups[r.targets[0].population] if r.targets else None
                if len(r.targets) > 1:
                    # several targets: their weighted sum, each through its own linked copy
                    for qq, tt in enumerate(r.targets):
                        name = f"lt_{k}_{qq}"
                        G.variables.add_reference(name, groups[tt.population], "xdec")
                    expr = " + ".join(
                        f"{tt.weight!r}*lt_{k}_{qq}" for qq, tt in enumerate(r.targets)
                    )
                else:
                    G.variables.add_reference(f"lt_{k}_0", src, "xdec")
                    expr = f"{r.targets[0].weight!r}*lt_{k}_0"
                rr(G, f"tq_{k} = {expr}", f"tq{k}")
            else:
                tname = r.forward_trace or r.post_trace
                m = [t.name for t in circ.traces].index(tname)
                tr = circ.traces[m]
                lo, hi = self.ranges[tr.population]
                G.variables.add_reference(f"lt_{k}_0", groups[tr.population], f"tr_{m}")
                rr(G, f"tq_{k} = {lo!r} + {hi - lo!r}*lt_{k}_0", f"tq{k}")
        for k, r in enumerate(circ.rules):
            q = circ.projections.index(circ.projection(r.projection))
            S = syn[q]
            lo_x, hi_x = self.ranges[circ.projection(r.projection).pre]
            x = f"({lo_x!r} + {hi_x - lo_x!r}*xs)"
            y = "xdec_post"
            eta = f"ntps_gate(t - ntps_t0, {k})"
            if r.kind == "oja":
                for upd_name, u in S.summed_updaters.items():
                    if upd_name == f"back_{k}_pre":
                        u.when = "start"
                        u.order = order
                        order += 1
                upd = f"w + {eta}*{y}*({x} - back_{k}_pre)"
                db = None
            elif r.kind == "prediction":
                tau = circ.trace(r.pre_trace).tau
                sc = float(sum(t.weight for t in r.targets))
                xb = f"({lo_x!r} + {hi_x - lo_x!r}*xb_{k})"
                upd = f"w + {eta}*(tq_{k}_post*{xb} - {sc!r}*{y}*{x})"
                db = f"(tq_{k} - {sc!r}*xdec)"
            else:
                upd = f"w + {eta}*((tq_{k}_post - {y})*{x})"
                db = f"(tq_{k} - xdec)"
            if r.bounds is not None:
                upd = f"clip({upd}, {float(r.bounds[0])!r}, {float(r.bounds[1])!r})"
            rr(S, f"w = {upd}", f"rule{k}")
            if r.bias and db is not None:
                G = groups[circ.projection(r.projection).post]
                rr(G, f"b = b + ntps_gate(t - ntps_t0, {k})*{db}", f"bias{k}")
        for pi, p in enumerate(pops):
            G = groups[p.name]
            lo, hi = self.ranges[p.name]
            alpha = c.dt / p.tau
            phi = _PHI[p.activation]
            rr(
                G,
                f"r = clampon*clampv + (1.0 - clampon)*(r + {alpha!r}*(-r + ({phi})))\n"
                f"nu = numax*clip((r - {lo!r})/{hi - lo!r}, 0.0, 1.0)",
                f"rate{pi}",
            )
            if p.model == "lif":
                rr(G, "J = (1.0/taum)/(1.0 - exp(-1.0/((nu + 1e-6*Hz)*taum)))", f"lif{pi}")
        self._tie_op = None
        names = [x.name for x in circ.projections]
        ties = [(q, names.index(pr.tie)) for q, pr in enumerate(circ.projections) if pr.tie]
        if ties:
            self._ties = ties
            self._tie_op = b2.NetworkOperation(self._sync_ties, when="start", order=order, dt=dt)
            order += 1
        objs = [*groups.values(), *syn.values()]
        if self._tie_op is not None:
            objs.append(self._tie_op)
        self.net = b2.Network(*objs, name="ntps_net")
        self._load_weights()

    def _sync_ties(self) -> None:
        for q, o in self._ties:
            dst = self.syn[q].variables["w"].get_value()
            dst[:] = self.syn[o].variables["w"].get_value()

    # ---- state ------------------------------------------------------------------------
    def _load_weights(self) -> None:
        c, s = self.comp, self.state
        for q, S in self.syn.items():
            off = int(c.proj_w_off[q])
            n = int(c.proj_pre_n[q] * c.proj_post_n[q])
            S.w_[:] = s.w[off : off + n]
        for pi, p in enumerate(c.circuit.populations):
            G = self.groups[p.name]
            sl = slice(int(c.pop_off[pi]), int(c.pop_off[pi] + c.pop_size[pi]))
            G.r_[:] = s.r[sl]
            G.b_[:] = s.b[sl]

    def _save(self) -> None:
        c, s = self.comp, self.state
        for q, S in self.syn.items():
            if c.circuit.projections[q].tie is not None:
                continue
            off = int(c.proj_w_off[q])
            n = int(c.proj_pre_n[q] * c.proj_post_n[q])
            s.w[off : off + n] = S.w_[:]
        for pi, p in enumerate(c.circuit.populations):
            G = self.groups[p.name]
            sl = slice(int(c.pop_off[pi]), int(c.pop_off[pi] + c.pop_size[pi]))
            s.r[sl] = G.r_[:]
            s.b[sl] = G.b_[:]

    def _set_drive(self, drive: Drive) -> None:
        from neurotp.engines.brian2_engine import step_tables

        c = self.comp
        tab = step_tables(c, drive)
        dt = c.dt * b2.ms
        ns = self.ns
        ns["ntps_t0"] = self.net.t
        ns["ntps_stim"] = b2.TimedArray(tab["stim"], dt=dt, name="ntps_stim")
        if "labels" in tab:
            ns["ntps_labels"] = b2.TimedArray(tab["labels"], dt=dt, name="ntps_labels")
            ns["ntps_labon"] = b2.TimedArray(tab["labon"], dt=dt, name="ntps_labon")
        if "gate" in tab:
            ns["ntps_gate"] = b2.TimedArray(tab["gate"], dt=dt, name="ntps_gate")
        pos = {int(u): j for j, u in enumerate(c.noise_idx)}
        for pi, p in enumerate(c.circuit.populations):
            if p.noise > 0:
                units = range(int(c.pop_off[pi]), int(c.pop_off[pi] + c.pop_size[pi]))
                cols = np.array([pos[u] for u in units], dtype=np.int64)
                ns[f"ntps_noise{pi}"] = b2.TimedArray(
                    np.ascontiguousarray(tab["noise"][:, cols]), dt=dt, name=f"ntps_noise{pi}"
                )

    # ---- a block ------------------------------------------------------------------------------
    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        c = self.comp
        t0 = time.perf_counter()
        if self.net is None:
            self._build()
        else:
            self._load_weights()
        spp = c.steps_per_presentation
        n_pres = drive.n_presentations
        self._n_steps = n_pres * spp
        self._set_drive(drive)
        mons = []
        if record_every:
            for pi, p in enumerate(c.circuit.populations):
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
        self.spk = {}
        for pi, p in enumerate(c.circuit.populations):
            self.spk[p.name] = b2.SpikeMonitor(self.groups[p.name], name=f"ntps_spk{pi}")
            self.net.add(self.spk[p.name])
        start_ms = float(self.net.t / b2.ms)
        tb = time.perf_counter()
        b2.prefs.codegen.target = self.target
        self.net.run(self._n_steps * c.dt * b2.ms, namespace=self.ns)
        te = time.perf_counter()
        self._save()
        self.state.t += self._n_steps
        # readout: decoded spike counts per presentation over the readout window
        r0, r1 = c.readout_win
        means = np.zeros((n_pres, c.n_units))
        self.last_spikes = {}
        for pi, p in enumerate(c.circuit.populations):
            m = self.spk[p.name]
            i_sp = np.asarray(m.i[:])
            t_sp = np.asarray(m.t[:] / b2.ms) - start_ms
            keep = t_sp >= -1e-9
            i_sp, t_sp = i_sp[keep], t_sp[keep]
            self.last_spikes[p.name] = (i_sp, t_sp)
            step = np.floor(t_sp / c.dt + 1e-6).astype(np.int64)
            pres, k = np.divmod(step, spp)
            sel = (k >= r0) & (k < r1) & (pres < n_pres)
            cnt = np.zeros((n_pres, int(c.pop_size[pi])))
            np.add.at(cnt, (pres[sel], i_sp[sel]), 1.0)
            lo, hi = self.ranges[p.name]
            frac = cnt / (self.max_rate * (r1 - r0) * c.dt / 1000.0)
            means[:, int(c.pop_off[pi]) : int(c.pop_off[pi] + c.pop_size[pi])] = (
                lo + (hi - lo) * frac
            )
        rec = None
        if record_every:
            rec = np.concatenate([np.asarray(m.r[:]).T for m in mons], axis=1)
            if record_units is not None:
                rec = rec[:, np.asarray(record_units, dtype=np.int64)]
            for m in mons:
                self.net.remove(m)
        for m in self.spk.values():
            self.net.remove(m)
        self.timings = {"build": tb - t0, "compile": 0.0, "loop": te - tb}
        if not np.all(np.isfinite(self.state.r)):
            raise FloatingPointError("spiking: rates became NaN/inf")
        return RunResult(means=means, record=rec)
