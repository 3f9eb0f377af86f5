"""The label's nudge at a unit's soma over time: what the loops return, measured.

A compartment ``P.apical`` nudges its soma by gain·(a − ā) (gain·a without a rest trace ā).
:func:`nudge_course` measures, on a trained circuit with plasticity off, how much of that
nudge the *label* causes at each step of its presentation and of the next one: the same pair
of samples runs twice from the same state, once with the label clamped from
``protocol.label_delay`` as in training and once with it free, and the difference is the
label's own effect (zero before the label arrives; what it still causes after it left).
``figures/fig_time.py`` uses it to explain where learning in time breaks (the loop must
return, and the presynaptic trace still remember the sample, while the nudge lasts).
:func:`trace_course` rebuilds a trace at every step of a recorded run (the engines keep only
its current value), checked against the engine's own at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurotp.circuit.compiled import Compiled, State

if TYPE_CHECKING:
    from neurotp.simulation import Simulation

DIAG_PRESENTATIONS = 40  # test samples whose label's nudge is measured by default


def trace_course(
    comp: Compiled, state0: State, record: np.ndarray, i: int
) -> tuple[np.ndarray, np.ndarray]:
    """Trace ``i`` at the start of every step of a run that started from ``state0`` and
    recorded every unit after every step (``record``), rebuilt by the engines' own update
    x̄ += α·(r(t − d) − x̄); and its value after the run. Valid for traces of free units
    (their rate at the start of a step is the one recorded after the step before)."""
    n, off, src = int(comp.tr_n[i]), int(comp.tr_off[i]), int(comp.tr_src_off[i])
    d, alpha, L, t0 = int(comp.tr_delay[i]), float(comp.tr_alpha[i]), comp.hist_len, state0.t
    start = np.vstack([state0.r[None, src : src + n], record[:-1, src : src + n]])
    tr = state0.tr[off : off + n].copy()
    out = np.empty((len(record), n))
    for t in range(len(record)):
        out[t] = tr
        past = start[t - d] if t >= d else state0.hist[(t0 + t - d) % L, src : src + n]
        tr = tr + alpha * (past - tr)
    return out, tr


def nudge_course(
    sim: Simulation, hidden: str, n: int = DIAG_PRESENTATIONS
) -> dict[str, list[float]]:
    """The label's own nudge at ``hidden``'s soma, gain·(a − ā) (gain·a for a compartment
    without a rest trace), over its presentation and the next one (onset of the first at
    step 0), on the trained circuit with learning off.

    The test samples are presented one after another with the label running free (input
    noise as in training). At each sample j, from the same state, the pair (j, j + 1) runs
    twice: with the label clamped during j as in training (``C``), and free (``F``). ``label``
    is the mean over units and samples of |nudge_C − nudge_F| at each step (what the label
    caused: zero before it arrives, and what it causes in the next sample after it left);
    ``switch`` the mean |nudge_F| (what the sample switches alone cause)."""
    from dataclasses import replace

    from neurotp.circuit.protocol import make_drive

    comp = sim.comp
    pop = comp.circuit.population(hidden)
    if pop.apical is None:
        raise ValueError(
            f"--hidden {hidden}: has no compartment; allowed: a population with apical"
        )
    x, y = sim.data.x_test[: n + 1], sim.data.y_test[: n + 1]
    rng = np.random.default_rng([sim.circuit.seed, 4241])
    drives = [make_drive(comp, x[j : j + 1], y[j : j + 1], rng, train=True) for j in range(n + 1)]
    free = [replace(d, learn=False, clamp=False) for d in drives]
    a_sl = comp.pop_slice(hidden + ".apical")
    i = (
        None
        if pop.apical.rest is None
        else [t.name for t in comp.circuit.traces].index(pop.apical.rest)
    )
    walker = sim.make_engine(state=sim.state.copy())  # runs the samples with the label free
    label, switch = [], []
    for j in range(n):
        nudge = {}
        for name, first in (("C", replace(drives[j], learn=False)), ("F", free[j])):
            engine = sim.make_engine(state=walker.state.copy())
            state0 = engine.state.copy()
            record = np.vstack([engine.run(d, record_every=1).record for d in (first, free[j + 1])])
            a = np.vstack([state0.r[None, a_sl], record[:-1, a_sl]])
            if i is not None:  # gain·(a − ā), ā the rest trace; gain·a without one
                rest, final = trace_course(comp, state0, record, i)
                # the rebuilt trace must end where the engine's did, or it is not the engine's
                sl = slice(int(comp.tr_off[i]), int(comp.tr_off[i] + comp.tr_n[i]))
                np.testing.assert_allclose(final, engine.state.tr[sl], atol=1e-9)
                a = a - rest
            nudge[name] = pop.apical.gain * a
        label.append(np.abs(nudge["C"] - nudge["F"]).mean(1))
        switch.append(np.abs(nudge["F"]).mean(1))
        walker.run(free[j])
    return {"label": np.mean(label, 0).tolist(), "switch": np.mean(switch, 0).tolist()}


def arrival(nudge: dict[str, list[float]], proto: dict) -> float:
    """When the label's nudge first exceeds 5 % of its peak (ms after the sample's onset)."""
    lab = np.asarray(nudge["label"])
    return float(np.argmax(lab > 0.05 * lab.max()) * proto["dt"]) if lab.max() > 0 else np.nan


def label_share(nudge: dict[str, list[float]], proto: dict) -> tuple[float, float]:
    """The label's nudge integrated over its own clamp [label_delay, present) (Σ nudge·dt,
    so that runs at different steps compare), and the share of its whole effect (over its
    presentation and the next) that falls there."""
    lab = np.asarray(nudge["label"])
    dt = proto["dt"]
    i0, i1 = (int(round(proto[k] / dt)) for k in ("label_delay", "present"))
    inside = float(lab[i0:i1].sum())
    return inside * dt, inside / max(float(lab.sum()), 1e-300)
