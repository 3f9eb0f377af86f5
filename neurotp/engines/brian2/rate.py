"""The Brian2 rate network of one run: built from the parts (:mod:`.parts`), scheduled, read
back into a :class:`~neurotp.circuit.compiled.State`.

The schedule inside one ``dt`` (all in the ``start`` slot, explicit ``order``): clamp →
delay-line shift → plain copies for the synapses → summed currents → total current (old
bias, noise, then the compartments' nudge of their somata, gain·(a − ā)) → rule
coefficients → rules in declaration order (each: its Wᵀp for Oja's rule, its weights, its
bias) → traces → Euler rate update; a ``StateMonitor`` records r after the step.
Compartments (``POP.apical``) are units of ``U`` like any other; the stimulus frame and the
label clamp of each step come from :func:`~neurotp.engines.brian2.drive.step_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import brian2 as b2
import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA
from neurotp.engines.brian2.drive import PHI_BY_CODE, step_tables
from neurotp.engines.brian2.parts import (
    Blueprint,
    Layout,
    add_couplings,
    add_delay_line,
    add_rules,
    add_traces,
    add_units,
    make_groups,
    make_synapses,
)


def check_supported(comp: Compiled) -> None:
    """Raise ``ValueError`` for circuit features the Brian2 rate network cannot express."""
    c, rt = comp.circuit, comp.rules
    ties = {p.name: p.tie for p in c.projections}
    first: dict[int, int] = {}
    for k, r in enumerate(c.rules):
        if rt.form[k] == OJA and ties.get(r.projection) is not None:
            raise ValueError(
                f"rules[{k}] ({r.name}).projection: {r.projection!r} is tied to "
                f"{ties[r.projection]!r}; the brian2 engine runs Oja's rule on owner "
                "(untied) projections only; allowed: put the rule on the owner"
            )
        w = int(comp.proj_w_off[rt.proj[k]])  # rules on tied projections share W
        if rt.form[k] == OJA and w in first:
            raise ValueError(
                f"rules[{k}] ({r.name}): Oja's rule must be the first rule on projection "
                f"{comp.proj_names[int(rt.proj[k])]!r} for the brian2 engine "
                "(Wᵀp is a summed variable computed once per step)"
            )
        first.setdefault(w, k)


def timed_arrays(comp: Compiled, drive: Drive, prefix: str) -> dict[str, Any]:
    """The drive's per-step tables (:func:`step_tables`) as ``TimedArray``\\ s named
    ``{prefix}_stim`` etc.; the noise table keeps all columns (rate mode reads it by unit)."""
    tab = step_tables(comp, drive)
    dt = comp.dt * b2.ms
    keys = ("stim", "noise", "labels", "labon", "gate", "open")
    return {
        f"{prefix}_{key}": b2.TimedArray(tab[key], dt=dt, name=f"{prefix}_{key}")
        for key in keys
        if key in tab
    }


Step = tuple[Any, str, str] | list[Any]


def schedule(lay: Layout, bp: Blueprint, groups: dict[str, Any], syn: dict[int, Any]) -> list[Step]:
    """Every operation of the step, in order: a ``run_regularly`` as (group, code, name), or
    a list of summed-variable updaters to run at that point."""
    c = lay.comp
    U, DL = groups["U"], groups["DL"]
    steps: list[Step] = [(U, "r = isin*ntp_stim(t, sidx) + (1.0 - isin)*r", "clamp_in")]
    if c.label_n > 0:
        lab = "r = islab*ntp_labon(t)*ntp_labels(t, lidx) + (1.0 - islab*ntp_labon(t))*r"
        steps.append((U, lab, "clamp_lab"))
    steps.append(
        (DL, "tmp = isb0*rsrc + (1.0 - isb0)*rsh" if lay.L > 1 else "tmp = rsrc", "dl_shift")
    )
    steps.append((DL, "r = tmp", "dl_write"))
    if bp.copies:
        steps.append((DL, "\n".join(bp.copies), "dl_copies"))
    steps.append(
        [u for S in syn.values() for n, u in S.summed_updaters.items() if not n.startswith("back_")]
    )
    terms = ["b"] + [
        f"mt_{p}*Ilk_{p}" if lay.owner[p] != p else f"I_{p}" for p in range(len(c.proj_names))
    ]
    nudge = f" + {bp.nudge}" if bp.nudge else ""  # after the noise, as in the reference
    steps.append(
        (U, "Itot = " + " + ".join(terms) + " + sigma*ntp_noise(t, nidx)" + nudge, "current")
    )
    coef = "\n".join(r.coef for r in bp.rules if r.coef)
    if coef:
        steps.append((U, coef, "coef"))
    for r in bp.rules:
        if r.oja:
            steps.append([syn[r.syn].summed_updaters[f"back_{r.k}_pre"]])
        steps.append((syn[r.syn], r.weights, f"rule{r.k}"))
        if r.bias:
            steps.append((U, r.bias, f"rule{r.k}_bias"))
    if "TR" in groups:
        steps.append((groups["TR"], "tr = tr + talpha*(src - tr)", "traces"))
    codes = sorted(set(c.unit_act.tolist()))
    phi = " + ".join(f"a{code}*{PHI_BY_CODE[code]}" for code in codes)
    free = "(1.0 - islab*ntp_labon(t))" if c.label_n > 0 else "1.0"
    steps.append((U, f"r = r + {free}*(alpha*(-r + ({phi})))", "rates"))
    return steps


def place(steps: list[Step]) -> None:
    """Give every operation of ``steps`` its place in the ``start`` slot, in order."""
    order = 10
    for step in steps:
        if isinstance(step, list):
            for upd in step:
                upd.when, upd.order = "start", order
                order += 1
            continue
        group, code, name = step
        group.run_regularly(code, when="start", order=order, name=f"ntp_{name}")
        order += 1


@dataclass
class RateNetwork:
    """The Brian2 objects of one run (built fresh for each :meth:`Brian2Engine.run`)."""

    comp: Compiled
    n_steps: int
    groups: dict[str, Any]
    syn: dict[int, Any]
    mon: Any
    net: Any
    namespace: dict[str, Any]

    def duration(self) -> Any:
        return self.n_steps * self.comp.dt * b2.ms

    def read_state(self, state: State) -> np.ndarray:
        """Copy the network's state into ``state``; return the recorded rates (n_steps, N)."""
        c = self.comp
        N, L = c.n_units, c.hist_len
        state.r[:] = np.asarray(self.groups["U"].r[:])
        state.b[:] = np.asarray(self.groups["U"].b[:])
        if "TR" in self.groups:
            state.tr[:] = np.asarray(self.groups["TR"].tr[:])
        for p, S in self.syn.items():
            off = int(c.proj_w_off[p])
            n = int(c.proj_pre_n[p] * c.proj_post_n[p])
            state.w[off : off + n] = np.asarray(S.w[:])
        dl = np.asarray(self.groups["DL"].r[:]).reshape(L, N)
        t1 = state.t + self.n_steps
        for k in range(L):
            state.hist[(t1 - 1 - k) % L] = dl[k]
        state.t = t1
        return np.asarray(self.mon.r[:]).T


def build_rate_network(comp: Compiled, state: State, drive: Drive) -> RateNetwork:
    """The rate network of ``comp`` starting from ``state``, driven by ``drive``: one builder
    per part (units, delay line, traces, rules, synapses), then the schedule."""
    lay = Layout.of(comp)
    dt = comp.dt * b2.ms
    bp = Blueprint()
    add_units(bp, lay, state)
    add_delay_line(bp, lay, state)
    add_traces(bp, lay, state)
    add_couplings(bp, lay)
    add_rules(bp, lay)
    groups = make_groups(bp, dt)
    syn = make_synapses(bp, lay, groups, state, dt)
    place(schedule(lay, bp, groups, syn))
    mon = b2.StateMonitor(groups["U"], "r", record=True, when="end", dt=dt, name="ntp_mon")
    net = b2.Network(*groups.values(), *syn.values(), mon, name="ntp_net")
    n_steps = drive.n_presentations * comp.steps_per_presentation
    return RateNetwork(comp, n_steps, groups, syn, mon, net, timed_arrays(comp, drive, "ntp"))
